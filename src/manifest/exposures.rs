//! Exposures, as dbt's: the dashboards, applications and notebooks that
//! use the project's models, declared in YAML with the `ref`s and
//! `source`s they read. They are not built; they give the docs and
//! selection (`+exposure:weekly_kpis`) what is downstream of the models.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Value as Json};

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::manifest::node::{Node, ResourceType};
use crate::project::config::yaml_to_json;
use crate::project::schema_yaml::ExposureDef;

/// One exposure, resolved.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// `exposure.<package>.<name>`.
    pub unique_id: String,
    /// Its name.
    pub name: String,
    /// The package that declares it.
    pub package_name: String,
    /// The YAML file, relative to the project.
    pub original_file_path: PathBuf,
    /// unique_ids of the models, seeds, snapshots and sources it reads,
    /// sorted.
    pub depends_on: Vec<String>,
    /// What dbt's manifest.json says of it but its `depends_on.nodes`.
    pub fields: Json,
}

static CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*\{\{\s*(ref|source)\s*\(\s*(.*?)\s*\)\s*\}\}\s*$|^\s*(ref|source)\s*\(\s*(.*?)\s*\)\s*$"#)
        .expect("valid regex")
});

/// The quoted arguments of a `ref(...)`/`source(...)` call's text.
fn arguments(args: &str) -> Vec<String> {
    args.split(',')
        .map(|a| a.trim().trim_matches(|c| c == '\'' || c == '"').to_owned())
        .filter(|a| !a.is_empty())
        .collect()
}

impl Exposure {
    /// Resolves `def` (declared in `yml`, whose text is `text`, by
    /// `package`) against `nodes`.
    ///
    /// Errors: [`ErrorKind::UnknownRef`] / [`ErrorKind::UnknownSource`] for
    /// a `depends_on` entry naming nothing (with a "did you mean"), and
    /// [`ErrorKind::Config`] for one that is not a `ref` or `source` call,
    /// at its line.
    pub fn resolve(
        def: &ExposureDef,
        package: &str,
        yml: &Path,
        text: &str,
        nodes: &[Node],
    ) -> Result<Exposure> {
        let at = |needle: &str| {
            let offset = text
                .find(&format!("name: {}", def.name))
                .and_then(|start| text[start..].find(needle).map(|i| start + i))
                .or_else(|| text.find(needle))
                .unwrap_or(0);
            Location::from_offset(yml, text, offset)
        };
        let mut depends_on = Vec::new();
        let mut refs = Vec::new();
        let mut sources = Vec::new();
        for entry in &def.depends_on {
            let Some(c) = CALL.captures(entry) else {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("exposure `{}` depends on `{entry}`, which is not a ref or source call", def.name),
                )
                .with_location(at(entry))
                .with_hint("write `ref('model')`, `ref('package', 'model')` or `source('source', 'table')`"));
            };
            let (func, args) = match (c.get(1), c.get(3)) {
                (Some(f), _) => (f.as_str(), arguments(c.get(2).map_or("", |a| a.as_str()))),
                (None, Some(f)) => (f.as_str(), arguments(c.get(4).map_or("", |a| a.as_str()))),
                _ => unreachable!("the regex has one of its two alternatives"),
            };
            let found = if func == "ref" {
                let (pkg, name) = match args.as_slice() {
                    [name] => (None, name.as_str()),
                    [pkg, name, ..] => (Some(pkg.as_str()), name.as_str()),
                    [] => {
                        return Err(Error::new(
                            ErrorKind::Config,
                            format!("exposure `{}`: `{entry}` names no model", def.name),
                        )
                        .with_location(at(entry))
                        .with_hint("write `ref('model')`"))
                    }
                };
                refs.push(json!({"name": name, "package": pkg, "version": null}));
                let hit = nodes.iter().find(|n| {
                    matches!(
                        n.resource_type,
                        ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
                    ) && n.name == name
                        && pkg.is_none_or(|p| n.package_name == p)
                });
                hit.map(|n| n.unique_id.clone()).ok_or_else(|| {
                    let names = nodes
                        .iter()
                        .filter(|n| matches!(n.resource_type, ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot))
                        .map(|n| n.name.as_str());
                    let mut err = Error::new(
                        ErrorKind::UnknownRef,
                        format!("exposure `{}` depends on `{name}`, which is not a model, seed or snapshot", def.name),
                    )
                    .with_location(at(entry));
                    if let Some(close) = did_you_mean(name, names) {
                        err = err.with_hint(format!("did you mean `ref('{close}')`?"));
                    }
                    err
                })?
            } else {
                let [source, table, ..] = args.as_slice() else {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "exposure `{}`: `{entry}` needs a source and a table",
                            def.name
                        ),
                    )
                    .with_location(at(entry))
                    .with_hint("write `source('source', 'table')`"));
                };
                sources.push(json!([source, table]));
                let hit = nodes.iter().find(|n| {
                    n.resource_type == ResourceType::Source
                        && n.name == *table
                        && n.source.as_ref().is_some_and(|s| &s.source_name == source)
                });
                hit.map(|n| n.unique_id.clone()).ok_or_else(|| {
                    Error::new(
                        ErrorKind::UnknownSource,
                        format!("exposure `{}` depends on source `{source}.{table}`, which no YAML declares", def.name),
                    )
                    .with_location(at(entry))
                    .with_hint("declare it under `sources:`, or fix the names")
                })?
            };
            depends_on.push(found);
        }
        depends_on.sort();
        depends_on.dedup();
        let path = yml.to_string_lossy().replace('\\', "/");
        let unique_id = format!("exposure.{package}.{}", def.name);
        let meta = if def.meta.is_mapping() {
            yaml_to_json(&def.meta)
        } else {
            json!({})
        };
        let fields = json!({
            "name": def.name,
            "resource_type": "exposure",
            "package_name": package,
            "path": path,
            "original_file_path": path,
            "unique_id": unique_id,
            "fqn": [package, def.name],
            "type": def.kind,
            "owner": yaml_to_json(&def.owner),
            "description": def.description,
            "label": def.label,
            "maturity": def.maturity,
            "meta": meta,
            "tags": def.tags,
            "config": {"enabled": true, "tags": def.tags, "meta": meta},
            "unrendered_config": {},
            "url": def.url,
            "refs": refs,
            "sources": sources,
            "metrics": [],
        });
        Ok(Exposure {
            unique_id,
            name: def.name.clone(),
            package_name: package.to_owned(),
            original_file_path: yml.to_path_buf(),
            depends_on,
            fields,
        })
    }

    /// The exposure's entry of manifest.json's `exposures`, as dbt writes it.
    pub fn to_json(&self) -> Json {
        let mut entry = self.fields.clone();
        entry["depends_on"] = json!({"macros": [], "nodes": self.depends_on});
        entry
    }
}
