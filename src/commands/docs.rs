//! `docs generate` and `docs serve`.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::cli::GlobalArgs;
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::{load_options, Session};
use crate::docs::artifacts::{self, Invocation};
use crate::error::Result;
use crate::execute::output::Printer;
use crate::manifest::ResourceType;
use crate::project::Project;
use crate::render::ProjectJinja;
use crate::timing::stage;

/// `sluice docs generate`: compiles every node, writes manifest.json (with
/// column lineage) and catalog.json read from the warehouse. Without a
/// database file yet, the catalog is empty and says so.
///
/// Errors: project errors, [`ErrorKind::Database`] when the catalog cannot be read.
pub fn generate(g: &GlobalArgs) -> Result<Outcome> {
    let clock = Instant::now();
    let inv = Invocation::new();
    let printer = Printer::new(g.quiet);
    let p = Session::open(g, InvocationArgs::command("generate", g), printer)?;
    let compiled = p.compile_everything();
    p.print_warnings(&compiled)?;
    p.write_manifest(&compiled, &inv)?;
    let target = &p.project.target;
    let t = Instant::now();
    let catalog = if let Some(db) = crate::adapter::open_existing(target) {
        crate::docs::catalog::catalog_json(&p.manifest, db.connect()?.as_ref(), &inv)?
    } else {
        printer.line(&format!(
            "No database at `{}` yet: catalog.json lists no tables (run `sluice build` first)",
            target.path
        ));
        serde_json::json!({
            "metadata": crate::docs::artifacts::metadata(&inv, "https://schemas.getdbt.com/dbt/catalog/v1.json", None),
            "nodes": {}, "sources": {}, "errors": null,
        })
    };
    artifacts::write_json(&p.project.target_dir(), "catalog.json", &catalog)?;
    stage("catalog.json", t);
    let t = Instant::now();
    // The last run's statuses and timings, when there was one.
    let run_results = std::fs::read_to_string(p.project.target_dir().join("run_results.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    // How each model column is computed in its model (`sluice explain`'s
    // steps), for the column pages: the compiled SQL parsed again here,
    // not kept from compile.
    let dialect = crate::adapter::sql_dialect(&p.project.target);
    let steps: HashMap<usize, serde_json::Value> = compiled
        .par_iter()
        .filter_map(|(&i, c)| {
            let c = c.as_ref().ok()?;
            if p.manifest.nodes[i].resource_type != ResourceType::Model {
                return None;
            }
            let crate::sql::Parsed::Statements(statements) = crate::sql::parse(&c.code, dialect)
            else {
                return None;
            };
            let by_column: serde_json::Map<String, serde_json::Value> = c
                .columns_lineage
                .iter()
                .flatten()
                .map(|l| {
                    let steps = crate::lineage::column_steps(&statements, &l.name);
                    (l.name.to_lowercase(), serde_json::json!(steps))
                })
                .collect();
            Some((i, serde_json::Value::Object(by_column)))
        })
        .collect();
    let data = crate::docs::site::site_data(
        &p.manifest,
        &compiled,
        &steps,
        &catalog,
        run_results.as_ref(),
        &inv.generated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    artifacts::write_text(
        &p.project.target_dir(),
        "index.html",
        &crate::docs::site::index_html(&data),
    )?;
    stage("index.html", t);
    printer.line(&format!(
        "Catalog written to {}/catalog.json ({} nodes, {} sources)",
        p.project.config.target_path,
        catalog["nodes"].as_object().map_or(0, |m| m.len()),
        catalog["sources"].as_object().map_or(0, |m| m.len()),
    ));
    printer.line(&format!(
        "Documentation written to {}/index.html in {:.2}s: open it in a browser, or run `sluice docs serve`",
        p.project.config.target_path,
        clock.elapsed().as_secs_f64()
    ));
    Ok(Outcome::Success)
}

/// `sluice docs serve`: serves target/ on 127.0.0.1 (see [`crate::docs::serve`]).
///
/// Errors: project errors; those of [`crate::docs::serve::serve`].
pub fn serve(g: &GlobalArgs, port: u16) -> Result<Outcome> {
    let project = Project::load(&load_options(g), &ProjectJinja)?;
    crate::docs::serve::serve(&project.target_dir(), port)?;
    Ok(Outcome::Success)
}
