//! Naming nodes: their fqn from folders, and their relation (database,
//! schema, alias) from `generate_schema_name` / `generate_alias_name`.

use std::path::{Path, PathBuf};

use minijinja::Value;

use crate::error::Result;
use crate::manifest::node::{Node, ResourceType};
use crate::render::Renderer;
use crate::warehouse::relation::Relation;

/// `(path relative to its resource dir, fqn)` of a node file, as dbt.
pub(crate) fn node_fqn(pkg: &str, rel: &Path, dirs: &[String]) -> (PathBuf, Vec<String>) {
    let inner = dirs
        .iter()
        .find_map(|d| rel.strip_prefix(d.trim_end_matches('/')).ok())
        .unwrap_or(rel)
        .to_path_buf();
    let mut fqn = vec![pkg.to_owned()];
    if let Some(parent) = inner.parent() {
        fqn.extend(
            parent
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        );
    }
    fqn.push(
        inner
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    (inner, fqn)
}

pub(crate) fn source_fqn(
    pkg: &str,
    yml: &Path,
    dirs: &[String],
    source: &str,
    table: &str,
) -> Vec<String> {
    let (_, mut fqn) = node_fqn(pkg, yml, dirs);
    fqn.pop();
    fqn.push(source.to_owned());
    fqn.push(table.to_owned());
    fqn
}

/// Names the node's relation with generate_database_name / generate_schema_name / generate_alias_name.
///
/// `builtin_target`: the target's `(database, schema)` when no project or
/// package overrides a naming macro (or the `default__`/`duckdb__` versions
/// they dispatch to); then the names are computed here, exactly as the
/// built-in macros in templates/macros/naming.sql would (dbt's defaults),
/// without rendering three templates per node.
pub(crate) fn name_relation(
    renderer: &Renderer,
    node: &Node,
    builtin_target: Option<(&str, &str)>,
) -> Result<Relation> {
    if let Some((target_database, target_schema)) = builtin_target {
        // As the macro path: a snapshot's target_* as written, the rest
        // trimmed as the macros' rendered output is.
        let database = match (node.resource_type, node.config.get_str("target_database")) {
            (ResourceType::Snapshot, Some(d)) => d,
            _ => match node.config.get_str("database") {
                Some(d) => d.trim().to_owned(),
                None => target_database.trim().to_owned(),
            },
        };
        let schema = match (node.resource_type, node.config.get_str("target_schema")) {
            (ResourceType::Snapshot, Some(s)) => s,
            _ => match node.config.get_str("schema") {
                Some(custom) => format!("{target_schema}_{}", custom.trim())
                    .trim()
                    .to_owned(),
                None => target_schema.trim().to_owned(),
            },
        };
        let alias = match node.config.get_str("alias") {
            Some(a) if !a.is_empty() => a.trim().to_owned(),
            _ => node.name.trim().to_owned(),
        };
        return Ok(Relation::new(&database, &schema, &alias));
    }
    let node_value = node.template_value();
    let custom = |key: &str| {
        node.config
            .get_str(key)
            .map(Value::from)
            .unwrap_or(Value::from(()))
    };
    let call = |name: &str, key: &str| -> Result<String> {
        renderer
            .call_macro(name, &[custom(key), node_value.clone()])
            .map(|v| v.to_string().trim().to_owned())
            .map_err(|e| e.with_note(format!("while naming the relation of `{}`", node.unique_id)))
    };
    // Snapshots' legacy `target_schema` / `target_database` are used as
    // they are, without the naming macros, as dbt.
    let database = match node.config.get_str("target_database") {
        Some(d) if node.resource_type == ResourceType::Snapshot => d,
        _ => call("generate_database_name", "database")?,
    };
    let schema = match node.config.get_str("target_schema") {
        Some(s) if node.resource_type == ResourceType::Snapshot => s,
        _ => call("generate_schema_name", "schema")?,
    };
    Ok(Relation::new(
        &database,
        &schema,
        &call("generate_alias_name", "alias")?,
    ))
}
