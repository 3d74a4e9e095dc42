//! `compile`, and `compile --dialect`.

use std::sync::Arc;
use std::time::Instant;

use crate::cli::{GlobalArgs, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::{release_at_exit, Session};
use crate::compile::{compile_one, Compiled};
use crate::docs::artifacts::{self, Invocation};
use crate::error::{Error, ErrorKind, Result, Severity};
use crate::execute::output::{print_diagnostic, Printer};
use crate::execute::{NodeResult, Status};
use crate::lineage::Lineage;
use crate::manifest::{Node, ResourceType};
use crate::render::{Introspection, Resolver};
use crate::timing::stage;

/// `sluice compile`: compiles the selected models, tests and analyses (all
/// without `--select`) into target/compiled/, writes manifest.json and
/// run_results.json, and prints the compiled SQL of a `--select`ion (or of
/// `--inline` SQL). `--snapshot` writes the compiled models under
/// snapshots/compiled/; `--check` compares them with it.
///
/// Returns [`Outcome::NodeFailure`] when a node fails to compile or
/// `--check` finds a difference.
///
/// Errors: project and selector errors.
pub fn compile(
    g: &GlobalArgs,
    select: &SelectArgs,
    inline: Option<&str>,
    snapshot: bool,
    check: bool,
) -> Result<Outcome> {
    let clock = Instant::now();
    let inv = Invocation::new();
    let printer = Printer::new(g.quiet);
    let mut p = Session::open(g, InvocationArgs::new("compile", g, select, false), printer)?;
    if let Some(sql) = inline {
        let code = p.compile_inline(sql)?;
        println!("{code}");
        return Ok(Outcome::Success);
    }
    let types = [
        ResourceType::Model,
        ResourceType::Test,
        ResourceType::Analysis,
    ];
    let selected = p.select(select, &types)?;
    p.set_selected_resources(&selected);
    let resolver = Arc::new(Resolver {
        empty: g.empty,
        ..(*p.manifest.resolver).clone()
    });
    let warehouse = p.existing_warehouse_columns();
    let t = Instant::now();
    let mut compiled = p.compile(
        &resolver,
        &selected,
        Lineage::Compute {
            warehouse: warehouse.as_ref(),
        },
    );
    // Nodes that run statements while compiling (run_query, ...) are compiled
    // again against the warehouse, as dbt's compile does.
    let mut introspective: Vec<usize> = compiled
        .iter()
        .filter(|(_, c)| c.as_ref().is_ok_and(|c| c.introspective))
        .map(|(&i, _)| i)
        .collect();
    if !introspective.is_empty() {
        introspective.sort_unstable();
        let db = crate::adapter::open(&p.project.target)?;
        let conn = db.connect()?;
        let live = Introspection::Live(Arc::new(std::sync::Mutex::new(conn)));
        let cx = p.context(&resolver);
        for i in introspective {
            compiled.insert(i, compile_one(&cx, i, &live));
        }
    }
    stage("compile", t);
    p.print_warnings(&compiled)?;
    p.write_manifest(&compiled, &inv)?;
    let mut order: Vec<usize> = compiled.keys().copied().collect();
    order.sort_unstable();
    let mut results = Vec::new();
    let mut failed = false;
    for &i in &order {
        let mut result = NodeResult::new(i, Status::Success, "Thread-1");
        if let Err(e) = &compiled[&i] {
            failed = true;
            print_diagnostic(e, Severity::Error);
            result.status = Status::Error;
            result.message = e.message().to_owned();
        }
        results.push(result);
    }
    // With --select, print the compiled SQL of the selected models (data to stdout).
    if !select.select.is_empty() {
        let models: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| p.manifest.nodes[i].resource_type != ResourceType::Test)
            .collect();
        let show = if models.is_empty() {
            order.clone()
        } else {
            models
        };
        for (k, &i) in show.iter().enumerate() {
            if let Ok(c) = &compiled[&i] {
                if show.len() > 1 {
                    if k > 0 {
                        println!();
                    }
                    println!("-- {}", p.manifest.nodes[i].unique_id);
                }
                println!("{}", c.code);
            }
        }
    }
    let elapsed = clock.elapsed().as_secs_f64();
    let t = Instant::now();
    artifacts::write_run_results_json(
        &p.project.target_dir(),
        &p.manifest,
        &results,
        &compiled,
        elapsed,
        p.invocation.to_json(),
        &inv,
    )?;
    stage("run_results.json", t);
    printer.line(&format!(
        "Compiled {} node{} to {}/compiled in {elapsed:.2}s",
        order.len(),
        if order.len() == 1 { "" } else { "s" },
        p.project.config.target_path
    ));
    if snapshot || check {
        let models: Vec<(&Node, &Compiled)> = order
            .iter()
            .filter_map(|&i| {
                let node = &p.manifest.nodes[i];
                match (&compiled[&i], node.resource_type) {
                    (Ok(c), ResourceType::Model) => Some((node, c)),
                    _ => None,
                }
            })
            .collect();
        let dir = p.project.root.join("snapshots").join("compiled");
        if snapshot {
            let written = crate::compile::write_snapshots(&dir, &models)?;
            printer.line(&format!(
                "Wrote {written} compiled-SQL snapshot{} to snapshots/compiled/",
                if written == 1 { "" } else { "s" }
            ));
        } else {
            let diffs = crate::compile::check_snapshots(&dir, &models);
            for d in &diffs {
                eprint!("{d}");
            }
            if !diffs.is_empty() {
                eprintln!(
                    "{} compiled model{} from snapshots/compiled/; review, then run `sluice compile --snapshot` to accept",
                    diffs.len(),
                    if diffs.len() == 1 { " differs" } else { "s differ" }
                );
                failed = true;
            }
        }
    }
    release_at_exit((p, compiled));
    Ok(Outcome::failed_if(failed))
}

/// `sluice compile --dialect D`: the selected models' (all models without
/// `--select`) compiled SQL printed for engine `D` (see [`crate::dialect`]).
///
/// Errors: [`ErrorKind::Usage`] for an unknown dialect; a model that cannot
/// be translated is reported at its own line and fails the command (exit 1).
pub fn compile_dialect(g: &GlobalArgs, select: &SelectArgs, dialect: &str) -> Result<Outcome> {
    let target = crate::dialect::Dialect::parse(dialect).ok_or_else(|| {
        Error::new(ErrorKind::Usage, format!("unknown dialect `{dialect}`"))
            .with_hint("use duckdb, postgres, snowflake or bigquery")
    })?;
    let printer = Printer::new(true);
    let p = Session::open(g, InvocationArgs::new("compile", g, select, false), printer)?;
    let selected = p.select(select, &[ResourceType::Model])?;
    let resolver = Arc::new((*p.manifest.resolver).clone());
    let compiled = p.compile(&resolver, &selected, Lineage::Skip);
    let mut order: Vec<usize> = compiled.keys().copied().collect();
    order.sort_unstable();
    let mut failed = false;
    let mut first = true;
    for i in order {
        let node = &p.manifest.nodes[i];
        if node.config.is_ephemeral() {
            continue;
        }
        let code = match &compiled[&i] {
            Ok(c) => c.code.clone(),
            Err(e) => {
                print_diagnostic(e, Severity::Error);
                failed = true;
                continue;
            }
        };
        match crate::dialect::translate(&code, target) {
            Ok(sql) => {
                if !first {
                    println!();
                }
                first = false;
                println!("-- {} ({})", node.unique_id, target.name());
                println!("{sql};");
            }
            Err(u) => {
                failed = true;
                let (line, col) = crate::sql::map_to_template(&node.raw_code, &code, u.line, u.col);
                let err = Error::new(
                    ErrorKind::Sql,
                    format!("model `{}`: {}", node.name, u.message),
                )
                .with_location(crate::error::Location::new(
                    &node.original_file_path,
                    line,
                    col,
                    Some(&node.raw_code),
                ))
                .with_hint("rewrite the construct portably, or keep this model DuckDB-only");
                print_diagnostic(&err, Severity::Error);
            }
        }
    }
    Ok(Outcome::failed_if(failed))
}
