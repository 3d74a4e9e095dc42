//! `dag`: the selected part of the DAG as Mermaid or DOT.

use crate::cli::{DagFormat, GlobalArgs, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::error::Result;
use crate::execute::output::Printer;
use crate::manifest::ResourceType;

/// `sluice dag`: the selected models, seeds, sources and snapshots and the
/// edges between them, as Mermaid or DOT on stdout (see [`crate::graph::render_dag`]).
///
/// Errors: project and selector errors.
pub fn dag(g: &GlobalArgs, select: &SelectArgs, format: DagFormat) -> Result<Outcome> {
    let p = Session::open(g, InvocationArgs::command("dag", g), Printer::new(true))?;
    let selected = p.select(
        select,
        &[
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Source,
            ResourceType::Snapshot,
        ],
    )?;
    print!(
        "{}",
        crate::graph::render_dag(&p.manifest, &selected, format == DagFormat::Dot)
    );
    Ok(Outcome::Success)
}
