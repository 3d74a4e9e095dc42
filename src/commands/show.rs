//! `show`, as dbt's: a preview of a node's rows (see [`crate::show`]).

use std::sync::Arc;

use crate::cli::{GlobalArgs, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::{incremental_models, Session};
use crate::compile::compile_one;
use crate::error::{Error, ErrorKind, Result, Severity};
use crate::execute::output::{print_diagnostic, Printer};
use crate::lineage::Lineage;
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::render::{Introspection, Resolver};
use crate::warehouse::connection::Connection;

/// `sluice show`, as dbt's `show`: compiles each selected model or
/// analysis (or the `--inline` SQL) with its ephemeral parents inlined,
/// runs it wrapped in `get_show_sql` (`select * from (...) limit n`; every
/// row for a negative `limit`) on a read-only connection, and prints the
/// rows to stdout as a text table under `Previewing node 'name':` (the
/// heading left out with `--quiet`, as dbt) or as JSON. The node itself
/// need not be built; the relations it reads must exist.
///
/// Returns [`Outcome::NodeFailure`] (exit 1) when a node fails to compile,
/// reads a relation the database lacks, or DuckDB rejects its SQL; each is
/// reported at the node's `path:line:col` with a hint.
///
/// Errors: [`ErrorKind::Usage`] without `--select` or `--inline`, or for a
/// selection that matches no model (with a "did you mean"); project errors;
/// [`ErrorKind::MissingFile`] when the database file does not exist yet.
pub fn show(
    g: &GlobalArgs,
    select: &SelectArgs,
    inline: Option<&str>,
    limit: i64,
    output: crate::cli::ShowOutput,
) -> Result<Outcome> {
    use crate::show::{self as preview, Previewed};
    if select.select.is_empty() && inline.is_none() {
        return Err(Error::new(
            ErrorKind::Usage,
            "`sluice show` needs `--select` or `--inline`",
        )
        .with_hint("preview a model with `sluice show -s orders`, or SQL with `sluice show --inline \"select ...\"`"));
    }
    let printer = Printer::new(g.quiet);
    let mut p = Session::open(g, InvocationArgs::command("show", g), printer)?;
    let limit = preview::row_limit(limit);
    let print = |what: Previewed, table: &crate::warehouse::connection::CellTable, first: bool| {
        match output {
            crate::cli::ShowOutput::Json => println!("{}", preview::render_json(what, table)),
            crate::cli::ShowOutput::Text => {
                if !first {
                    println!();
                }
                if !g.quiet {
                    println!("{}", preview::heading(what));
                }
                print!("{}", preview::render_text(table));
            }
        }
    };
    if let Some(sql) = inline {
        let code = p.compile_inline(sql)?;
        let db = crate::adapter::open_read_only(&p.project.target)?;
        let conn = db.connect()?;
        let query = preview::show_sql(
            &p.renderer,
            crate::sql::strip_trailing_semicolons(&code),
            limit,
        )?;
        return match conn.query_cells(&query) {
            Ok(table) => {
                print(Previewed::Inline, &table, true);
                Ok(Outcome::Success)
            }
            Err(e) => {
                print_diagnostic(&locate_inline_error(e, sql, &code), Severity::Error);
                Ok(Outcome::NodeFailure)
            }
        };
    }
    let types = [ResourceType::Model, ResourceType::Analysis];
    // Not `Session::select`: its no-match warning would repeat the error below.
    let selected = crate::selector::select(
        &p.manifest,
        &p.graph,
        &select.select,
        &select.exclude,
        &types,
        p.state.as_ref(),
    )?;
    if selected.is_empty() {
        let terms = select.select.join(" ");
        let err = Error::new(
            ErrorKind::Usage,
            format!("`--select {terms}` matches no model or analysis"),
        );
        let names = p
            .manifest
            .nodes
            .iter()
            .filter(|n| types.contains(&n.resource_type))
            .map(|n| n.name.as_str());
        return Err(match crate::error::did_you_mean(&terms, names) {
            Some(s) => err.with_hint(format!("did you mean `{s}`?")),
            None => err.with_hint("list the models with `sluice ls --resource-type model`"),
        });
    }
    p.set_selected_resources(&selected);
    let db = crate::adapter::open_read_only(&p.project.target)?;
    let conn = db.connect()?;
    // is_incremental() is true for an incremental model whose table exists,
    // as in dbt's show: the preview is what the next run would add.
    let resolver = Arc::new(Resolver {
        incremental: incremental_models(&p.manifest, &selected, conn.as_ref(), false)?,
        empty: g.empty,
        ..(*p.manifest.resolver).clone()
    });
    let mut compiled = p.compile(&resolver, &selected, Lineage::Skip);
    // Nodes that query the warehouse while compiling (run_query, ...) are
    // compiled again against it, as compile does; the connection is
    // read-only, so such a query cannot change anything either.
    let introspective: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|i| compiled[i].as_ref().is_ok_and(|c| c.introspective))
        .collect();
    if !introspective.is_empty() {
        let live_conn: Box<dyn Connection> = db.connect()?;
        let live = Introspection::Live(Arc::new(std::sync::Mutex::new(live_conn)));
        let cx = p.context(&resolver);
        for i in introspective {
            compiled.insert(i, compile_one(&cx, i, &live));
        }
    }
    p.print_warnings(&compiled)?;
    let mut failed = false;
    let mut first = true;
    for &i in &selected {
        let node = &p.manifest.nodes[i];
        let result = compiled[&i]
            .as_ref()
            .map_err(Error::duplicate)
            .and_then(|c| {
                missing_parent(&p.manifest, node, conn.as_ref())?;
                let query = preview::show_sql(
                    &p.renderer,
                    crate::sql::strip_trailing_semicolons(&c.code),
                    limit,
                )?;
                conn.query_cells(&query).map_err(|e| {
                    crate::runner::locate_in_template(e, node, &c.code)
                        .with_note(format!("compiled SQL: `{}`", slash(&c.path)))
                        .with_hint(format!(
                            "fix the SQL of `{}`, then preview it again with `sluice show -s {}`",
                            slash(&node.original_file_path),
                            node.name
                        ))
                })
            });
        match result {
            Ok(table) => {
                print(Previewed::Node(&node.name), &table, first);
                first = false;
            }
            Err(e) => {
                print_diagnostic(&e, Severity::Error);
                failed = true;
            }
        }
    }
    Ok(Outcome::failed_if(failed))
}

/// Checks that every relation `node`'s SQL reads exists in the database:
/// its parents, and through an ephemeral parent (inlined as a CTE) that
/// parent's parents. dbt's show runs the node's SQL, so its parents must be
/// built; the node itself need not be.
///
/// Errors: [`ErrorKind::Database`] naming the first missing relation, at
/// the `ref`/`source` call in the node's file when it is a direct parent,
/// with a hint to build it; or when the catalog cannot be read.
fn missing_parent(manifest: &Manifest, node: &Node, conn: &dyn Connection) -> Result<()> {
    let mut stack: Vec<(&str, Option<&str>)> = node
        .depends_on
        .iter()
        .rev()
        .map(|d| (d.as_str(), None))
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((uid, via)) = stack.pop() {
        if !seen.insert(uid) {
            continue;
        }
        let Some(parent) = manifest.get(uid) else {
            continue;
        };
        if parent.resource_type == ResourceType::Model && parent.config.is_ephemeral() {
            let via = via.or(Some(parent.name.as_str()));
            stack.extend(parent.depends_on.iter().rev().map(|d| (d.as_str(), via)));
            continue;
        }
        let Some(rel) = &parent.relation else {
            continue;
        };
        if conn.relation_type(rel)?.is_some() {
            continue;
        }
        let relation = format!("{}.{}", rel.schema, rel.identifier);
        let (what, hint) = match &parent.source {
            Some(src) => (
                format!("source `{}.{}`", src.source_name, parent.name),
                format!("load `{relation}` into the database; `sluice show` reads sources as they are"),
            ),
            _ => (
                format!("`{}`", parent.name),
                format!(
                    "build it first with `sluice build -s {}` (or every parent with `sluice build -s +{}`): show runs `{}`'s SQL on what its parents hold, as dbt's show",
                    parent.name, node.name, node.name
                ),
            ),
        };
        let mut err = Error::new(
            ErrorKind::Database,
            format!(
                "`{}` reads {what}, but `{relation}` is not in the database",
                node.name
            ),
        )
        .with_hint(hint);
        match via {
            Some(eph) => err = err.with_note(format!("through the ephemeral model `{eph}`")),
            None => {
                if let Some(offset) = call_offset(&node.raw_code, parent) {
                    err = err.with_location(crate::error::Location::from_offset(
                        &node.original_file_path,
                        &node.raw_code,
                        offset,
                    ));
                }
            }
        }
        return Err(err);
    }
    Ok(())
}

/// Where `code` calls `ref(...)` or `source(...)` for `parent`: the byte
/// offset of the call, when it is written out with literal arguments.
fn call_offset(code: &str, parent: &Node) -> Option<usize> {
    let quoted = |s: &str| format!(r#"['"]{}['"]"#, regex::escape(s));
    let pattern = match &parent.source {
        Some(src) => format!(
            r"\bsource\s*\(\s*{}\s*,\s*{}",
            quoted(&src.source_name),
            quoted(&parent.name)
        ),
        _ => format!(
            r#"\bref\s*\(\s*(?:['"][^'"]*['"]\s*,\s*)?{}"#,
            quoted(&parent.name)
        ),
    };
    regex::Regex::new(&pattern)
        .ok()?
        .find(code)
        .map(|m| m.start())
}

/// Points a DuckDB error for `--inline` SQL at the spot in the SQL as given
/// (`<inline>:line:col`), as [`crate::runner::locate_in_template`] does for a model.
fn locate_inline_error(err: Error, inline: &str, compiled: &str) -> Error {
    let hint = "fix the `--inline` SQL and run it again";
    if err.kind() != ErrorKind::Database || err.location().is_some() {
        return err;
    }
    match crate::sql::locate_engine_error(err.message(), compiled) {
        Some((line, col)) => {
            let (line, col) = crate::sql::map_to_template(inline, compiled, line, col);
            err.with_location(crate::error::Location::new(
                "<inline>",
                line,
                col,
                Some(inline),
            ))
            .with_hint(hint)
        }
        None => err.with_hint(hint),
    }
}
