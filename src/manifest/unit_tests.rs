//! Unit test nodes: each `unit_tests:` entry of schema YAML becomes a
//! node `unit_test.<package>.<model>.<name>` depending on its model, as
//! dbt's parser builds them. Running them is [`crate::unit_tests`].

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::manifest::node::{Node, ResourceType};
use crate::project::config::{yaml_to_json, Config};
use crate::project::Project;

/// Builds the unit test nodes of every schema YAML file:
/// `unit_test.<package>.<model>.<name>`, depending on the model.
///
/// Errors: [`ErrorKind::UnknownRef`] for a test of a model that does not
/// exist, [`ErrorKind::DuplicateNode`] for two tests of one model with the
/// same name, located in the YAML file.
pub fn unit_test_nodes(project: &Project, nodes: &[Node]) -> Result<Vec<Node>> {
    let pkg = project.name();
    let models: HashMap<&str, &Node> = nodes
        .iter()
        .filter(|n| n.resource_type == ResourceType::Model)
        .map(|n| (n.name.as_str(), n))
        .collect();
    let mut out: Vec<Node> = Vec::new();
    for (yml, file) in &project.schema_files {
        for def in &file.unit_tests {
            let locate = |needle: &str| {
                let text = std::fs::read_to_string(project.root.join(yml)).unwrap_or_default();
                let at = text
                    .find(&format!("name: {}", def.name))
                    .and_then(|start| text[start..].find(needle).map(|o| start + o))
                    .or_else(|| text.find(needle));
                at.map(|o| Location::from_offset(yml, &text, o))
            };
            let Some(model) = models.get(def.model.as_str()) else {
                let err = Error::new(
                    ErrorKind::UnknownRef,
                    format!(
                        "unit test `{}` tests model `{}`, which does not exist",
                        def.name, def.model
                    ),
                );
                let err = match did_you_mean(&def.model, models.keys().copied()) {
                    Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                    None => err.with_hint("`model:` names a model of this project"),
                };
                return Err(err.or_location(|| locate(&format!("model: {}", def.model))));
            };
            let unique_id = format!("unit_test.{pkg}.{}.{}", model.name, def.name);
            if out.iter().any(|n| n.unique_id == unique_id) {
                return Err(Error::new(
                    ErrorKind::DuplicateNode,
                    format!(
                        "model `{}` has two unit tests named `{}`",
                        model.name, def.name
                    ),
                )
                .or_location(|| locate(&format!("name: {}", def.name)))
                .with_hint("give each unit test of a model its own name"));
            }
            let mut config = Config::default();
            if let serde_json::Value::Object(map) = yaml_to_json(&def.config) {
                for (k, v) in map {
                    config.set(&k, v);
                }
            }
            let mut fqn = model.fqn.clone();
            fqn.push(def.name.clone());
            out.push(Node {
                path: model.path.clone(),
                original_file_path: yml.clone(),
                patch_path: Some(yml.clone()),
                fqn,
                config,
                description: def.description.clone(),
                depends_on: vec![model.unique_id.clone()],
                unit_test: Some(Arc::new(def.clone())),
                ..Node::blank(unique_id, def.name.clone(), ResourceType::UnitTest, pkg)
            });
        }
    }
    Ok(out)
}
