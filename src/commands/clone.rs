//! `clone`, as dbt's: the selected nodes' relations in the target, made
//! from the relations a `--state` manifest records.

use crate::cli::{GlobalArgs, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::error::{Error, ErrorKind, Result, Severity};
use crate::execute::output::{print_diagnostic, Printer};
use crate::manifest::ResourceType;
use crate::warehouse::connection::RelationType;

/// `sluice clone --state DIR [-s ...] [--full-refresh]`, as dbt's `clone`
/// on a warehouse without zero-copy clones (dbt-duckdb, dbt-postgres): each
/// selected model, seed and snapshot that the state's manifest records
/// becomes a view in the target over the state's relation (`select *`), in
/// manifest order. As dbt, a relation the target already has is left alone
/// unless `full_refresh`; ephemeral models and nodes the state lacks are
/// skipped.
///
/// Returns [`Outcome::NodeFailure`] (exit 1) when a view cannot be
/// created (the state's relation is gone, or in a database the target
/// cannot read), each reported with a hint.
///
/// Errors: [`ErrorKind::Usage`] without `--state`; project and selector
/// errors; the warehouse's connection errors.
pub fn clone(g: &GlobalArgs, select: &SelectArgs, full_refresh: bool) -> Result<Outcome> {
    if g.state.is_none() {
        return Err(Error::new(ErrorKind::Usage, "`sluice clone` needs `--state`")
            .with_hint("pass the target directory of the run to clone from: `sluice clone --state prod-target/`"));
    }
    let printer = Printer::new(g.quiet);
    let p = Session::open(
        g,
        InvocationArgs::new("clone", g, select, full_refresh),
        printer,
    )?;
    let selected = p.select(
        select,
        &[
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Snapshot,
        ],
    )?;
    let db = crate::adapter::open(&p.project.target)?;
    let conn = db.connect()?;
    let jobs: Vec<_> = selected
        .iter()
        .map(|&i| &p.manifest.nodes[i])
        .filter_map(|n| Some((n, n.relation.clone()?, p.state_relation(n)?)))
        .filter(|(n, _, _)| n.config.materialized() != "ephemeral")
        .collect();
    let total = jobs.len();
    let (mut ok, mut skipped, mut errors) = (0, 0, 0);
    p.printer.line("");
    for (k, (node, target, source)) in jobs.into_iter().enumerate() {
        let what = format!(
            "{} {}.{}",
            node.resource_type.as_str(),
            target.schema,
            target.identifier
        );
        if target == source {
            p.printer.step(
                k + 1,
                total,
                &format!("SKIP {what} (the state's relation itself)"),
                "SKIP",
            );
            skipped += 1;
            continue;
        }
        let existing = conn.relation_type(&target)?;
        if existing.is_some() && !full_refresh {
            p.printer.step(
                k + 1,
                total,
                &format!("SKIP {what} (exists; --full-refresh replaces it)"),
                "SKIP",
            );
            skipped += 1;
            continue;
        }
        let made =
            crate::materialize::ensure_schema(&p.renderer, conn.as_ref(), &target).and_then(|()| {
                if existing == Some(RelationType::Table) {
                    conn.execute(&format!("drop table {target}"))?;
                }
                conn.execute(&format!(
                    "create or replace view {target} as select * from {source}"
                ))
            });
        match made {
            Ok(()) => {
                p.printer.step(
                    k + 1,
                    total,
                    &format!("OK cloned {what} from {source}"),
                    "CLONE",
                );
                ok += 1;
            }
            Err(e) => {
                print_diagnostic(
                    &e.with_note(format!("cloning `{}` from `{source}`", node.unique_id))
                        .with_hint("the --state run's relations must exist and be readable from this target (the same database file or server)"),
                    Severity::Error,
                );
                p.printer
                    .step(k + 1, total, &format!("ERROR cloning {what}"), "ERROR");
                errors += 1;
            }
        }
    }
    p.printer.line("");
    p.printer.line(&format!(
        "Done. PASS={ok} WARN=0 ERROR={errors} SKIP={skipped} TOTAL={total}"
    ));
    Ok(if errors > 0 {
        Outcome::NodeFailure
    } else {
        Outcome::Success
    })
}
