//! `parse`, as dbt's: read the project and write target/manifest.json,
//! without compiling or connecting.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::json;

use crate::cli::GlobalArgs;
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::docs::artifacts::{self, Invocation};
use crate::error::Result;
use crate::execute::output::Printer;

/// `sluice parse`, as dbt's: loads and parses the project (every node, the
/// graph, the checks of parse time), writes target/manifest.json (nodes
/// without compiled SQL, as dbt's parse leaves them) and
/// target/perf_info.json (how long each step took, in seconds, in the
/// spirit of dbt's), and prints the time. No warehouse is opened.
///
/// Errors: project, Jinja and graph errors (exit 2); [`crate::ErrorKind::Io`]
/// writing the artifacts.
pub fn parse(g: &GlobalArgs) -> Result<Outcome> {
    let inv = Invocation::new();
    let clock = Instant::now();
    let printer = Printer::new(g.quiet);
    let p = Session::open(g, InvocationArgs::command("parse", g), printer)?;
    let parsed = clock.elapsed().as_secs_f64();
    p.write_manifest(&HashMap::new(), &inv)?;
    let total = clock.elapsed().as_secs_f64();
    let perf = json!({
        "path_count": p.manifest.nodes.len(),
        "is_partial_parse_enabled": false,
        "parse_project_elapsed": parsed,
        "write_manifest_elapsed": total - parsed,
        "load_all_elapsed": total,
    });
    artifacts::write_json(&p.project.target_dir(), "perf_info.json", &perf)?;
    p.printer.line(&format!(
        "Parsed {} nodes in {parsed:.2}s; wrote {}/manifest.json and perf_info.json in {total:.2}s",
        p.manifest.nodes.len(),
        p.project.config.target_path
    ));
    Ok(Outcome::Success)
}
