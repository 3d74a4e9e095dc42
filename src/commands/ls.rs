//! `ls`, as dbt's `list`.

use serde_json::json;

use crate::cli::{GlobalArgs, LsOutput, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::error::{Error, ErrorKind, Result};
use crate::execute::output::Printer;
use crate::manifest::{slash, Node, ResourceType};

/// `sluice ls` (`list`): the selected nodes, one line each, as dbt's.
///
/// Errors: project and selector errors, an unknown `--resource-type`.
pub fn ls(
    g: &GlobalArgs,
    select: &SelectArgs,
    resource_types: &[String],
    output: LsOutput,
) -> Result<Outcome> {
    let printer = Printer::new(true);
    let p = Session::open(g, InvocationArgs::command("list", g), printer)?;
    let types: Vec<ResourceType> = if resource_types.is_empty() {
        vec![
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Source,
            ResourceType::Test,
            ResourceType::Analysis,
        ]
    } else {
        resource_types
            .iter()
            .map(|t| {
                ResourceType::parse(t).ok_or_else(|| {
                    Error::new(ErrorKind::Usage, format!("unknown resource type `{t}`"))
                        .with_hint("use one of: model, seed, source, test, analysis")
                })
            })
            .collect::<Result<_>>()?
    };
    let selected = p.select(select, &types)?;
    for &i in &selected {
        let node = &p.manifest.nodes[i];
        println!("{}", ls_line(node, output));
    }
    Ok(Outcome::Success)
}

/// One node's line in `output`'s format.
fn ls_line(node: &Node, output: LsOutput) -> String {
    match output {
        LsOutput::Name => node.name.clone(),
        LsOutput::Path => slash(&node.original_file_path),
        LsOutput::Selector => match node.resource_type {
            ResourceType::Source => format!("source:{}", node.fqn.join(".")),
            _ => node.fqn.join("."),
        },
        LsOutput::Json => json!({
            "name": node.name,
            "resource_type": node.resource_type.as_str(),
            "package_name": node.package_name,
            "original_file_path": slash(node.package_file_path()),
            "unique_id": node.unique_id,
            "alias": node.relation.as_ref().map(|r| r.identifier.clone()),
            "config": node.config.0,
            "tags": node.config.tags(),
            "depends_on": {"nodes": node.depends_on},
        })
        .to_string(),
    }
}
