//! Groups and model access (dbt 1.5): `groups:` in YAML name owners; a
//! model joins one with `group:` and says who may `ref` it with `access:`
//! (`private`: its group only; `protected`, the default: its project and
//! the projects that install it as a package, which within one build is
//! everyone; `public`: any project, dbt Mesh's cross-project refs).
//! Checked once every ref is resolved, as dbt's parser.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::node::{Node, ResourceType};
use crate::project::schema_yaml::GroupDef;

/// One group, as manifest.json's `groups` entry.
#[derive(Debug, Clone)]
pub struct Group {
    /// `group.<package>.<name>`.
    pub unique_id: String,
    /// The group's name.
    pub name: String,
    /// The package that declares it.
    pub package_name: String,
    /// The YAML file that declares it, relative to the project.
    pub original_file_path: PathBuf,
    /// `owner:`, as written.
    pub owner: Json,
    /// Description.
    pub description: String,
}

impl Group {
    /// A group declared by `def` in `file` of `package`.
    pub fn new(def: &GroupDef, package: &str, file: &Path) -> Group {
        Group {
            unique_id: format!("group.{package}.{}", def.name),
            name: def.name.clone(),
            package_name: package.to_owned(),
            original_file_path: file.to_path_buf(),
            owner: crate::project::config::yaml_to_json(&def.owner),
            description: def.description.clone(),
        }
    }

    /// The group's entry of manifest.json's `groups`, as dbt writes it.
    pub fn to_json(&self) -> Json {
        let path = self.original_file_path.to_string_lossy().replace('\\', "/");
        json!({
            "name": self.name,
            "resource_type": "group",
            "package_name": self.package_name,
            "path": path,
            "original_file_path": path,
            "unique_id": self.unique_id,
            "owner": self.owner,
            "description": self.description,
            "config": {"meta": {}},
        })
    }
}

/// A model's `access`: `private`, `protected` (the default) or `public`.
fn access(node: &Node) -> String {
    node.config
        .get_str("access")
        .unwrap_or_else(|| "protected".into())
}

/// Where `node` refs `name` in its file (or its first line).
fn ref_location(node: &Node, name: &str) -> Location {
    let offset = ["'", "\""]
        .iter()
        .filter_map(|q| node.raw_code.find(&format!("{q}{name}{q}")))
        .min()
        .unwrap_or(0);
    Location::from_offset(&node.original_file_path, &node.raw_code, offset)
}

/// Checks groups and access over `nodes` (with `index`: unique_id ->
/// position): every `group:` names a declared group, `access` is one of
/// dbt's three, a private model is in a group, and every ref from a model,
/// snapshot or analysis is allowed (a private model from its own group).
///
/// Errors: [`ErrorKind::Config`] for the first problem, located at the
/// `ref` (or the model's file) with a hint, in dbt's words where it has
/// them ("... which is not allowed because the referenced node is private
/// to the ... group").
pub fn check_access(
    groups: &[Group],
    nodes: &[Node],
    index: &HashMap<String, usize>,
) -> Result<()> {
    for node in nodes
        .iter()
        .filter(|n| n.resource_type == ResourceType::Model)
    {
        let at_file = || Location::new(&node.original_file_path, 1, 1, Some(&node.raw_code));
        let access = access(node);
        if !matches!(access.as_str(), "private" | "protected" | "public") {
            return Err(Error::new(
                ErrorKind::Config,
                format!("model `{}` has access `{access}`", node.name),
            )
            .with_location(at_file())
            .with_hint("use one of: private, protected, public"));
        }
        if let Some(group) = node.config.get_str("group") {
            if !groups.iter().any(|g| g.name == group) {
                let names: Vec<String> = groups.iter().map(|g| format!("`{}`", g.name)).collect();
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "model `{}` is in group `{group}`, which no `groups:` entry declares",
                        node.name
                    ),
                )
                .with_location(at_file())
                .with_hint(if names.is_empty() {
                    "declare it in a YAML file: `groups: [{name: ..., owner: {name: ...}}]`"
                        .to_owned()
                } else {
                    format!("declared groups: {}", names.join(", "))
                }));
            }
        } else if access == "private" {
            return Err(Error::new(
                ErrorKind::Config,
                format!("model `{}` has access private but no group", node.name),
            )
            .with_location(at_file())
            .with_hint(
                "set `group:` on it: a private model can be referenced from its group only",
            ));
        }
    }
    for node in nodes.iter().filter(|n| {
        matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Snapshot | ResourceType::Analysis
        )
    }) {
        for uid in &node.depends_on {
            let Some(target) = index.get(uid).map(|&i| &nodes[i]) else {
                continue;
            };
            if target.resource_type != ResourceType::Model || target.unique_id == node.unique_id {
                continue;
            }
            let group = target.config.get_str("group").unwrap_or_default();
            let why = (access(target) == "private"
                && node.config.get_str("group").as_deref() != Some(group.as_str()))
            .then(|| format!("is private to the `{group}` group"));
            if let Some(why) = why {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{} `{}` references model `{}`, which is not allowed because the referenced model {why}",
                        node.resource_type.as_str(),
                        node.name,
                        target.name
                    ),
                )
                .with_location(ref_location(node, &target.name))
                .with_hint("put both models in the same group, or give the referenced model `access: protected` or `public`"));
            }
        }
    }
    Ok(())
}
