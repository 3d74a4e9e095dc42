//! dbt's `graph` context variable: the parsed project as templates read it
//! (`graph.nodes`, `graph.sources`, `graph.exposures`, `graph.metrics`,
//! ...), each entry keyed by unique_id in the shape of a node's
//! manifest.json entry, as dbt's flat graph is the manifest's nodes as dicts.
//!
//! dbt_project_evaluator and similar packages read it in `{% if execute %}`
//! blocks: as in dbt, a parse render sees `graph` empty, and it is filled
//! once parsing is done. Models carry `contract` and `constraints` (and
//! their columns' `constraints`) from their manifest entry; fields dbt's
//! node dicts have that sluice does not model (`access`, `version`,
//! `group`, ...) are present with dbt's defaults, so `node.version is none`
//! and `column.constraints | length` read as they would under dbt.

use minijinja::Value;
use serde_json::{json, Map, Value as Json};

use crate::docs::artifacts::NodeEntry;
use crate::manifest::{Manifest, Node, ResourceType};
use crate::render::Renderer;

/// Whether any of the project's (or a package's) macros or nodes mentions
/// `graph`: the flat graph is built only then, as it costs a value per node.
pub fn mentioned(renderer: &Renderer, manifest: &Manifest) -> bool {
    let says = |text: &str| text.contains("graph");
    renderer
        .macros()
        .iter()
        .any(|m| !m.path.starts_with("templates/") && says(&m.source))
        || manifest.nodes.iter().any(|n| says(&n.raw_code))
}

/// Inserts `value` at `key` unless the entry already has it.
fn default(entry: &mut Map<String, Json>, key: &str, value: Json) {
    entry.entry(key.to_owned()).or_insert(value);
}

/// One node's graph entry: its manifest.json entry with dbt's defaults for
/// the fields sluice does not model.
fn entry(node: &Node, target_path: &str) -> Json {
    let mut entry = match serde_json::to_value(NodeEntry::new(node, target_path, None)) {
        Ok(Json::Object(map)) => map,
        _ => Map::new(),
    };
    let config = &node.config;
    if let Some(Json::Object(columns)) = entry.get_mut("columns") {
        for column in columns.values_mut() {
            if let Json::Object(c) = column {
                default(c, "constraints", json!([]));
                default(c, "config", json!({"meta": {}, "tags": []}));
                default(c, "granularity", Json::Null);
                default(c, "doc_blocks", json!([]));
            }
        }
    }
    for key in [
        "build_path",
        "compiled_path",
        "defer_relation",
        "deprecation_date",
        "latest_version",
        "version",
        "time_spine",
    ] {
        default(&mut entry, key, Json::Null);
    }
    for key in ["metrics", "functions", "doc_blocks"] {
        default(&mut entry, key, json!([]));
    }
    for key in [
        "unrendered_config",
        "config_call_dict",
        "unrendered_config_call_dict",
    ] {
        default(&mut entry, key, json!({}));
    }
    default(
        &mut entry,
        "group",
        config.get("group").cloned().unwrap_or(Json::Null),
    );
    default(
        &mut entry,
        "contract",
        crate::project::config::Contract::of(config).manifest_json(),
    );
    match node.resource_type {
        ResourceType::Model => {
            default(
                &mut entry,
                "access",
                config.get("access").cloned().unwrap_or(json!("protected")),
            );
            default(&mut entry, "constraints", json!([]));
            default(&mut entry, "primary_key", json!([]));
        }
        ResourceType::Source => {
            default(
                &mut entry,
                "quoting",
                json!({"database": null, "schema": null, "identifier": null, "column": null}),
            );
            default(
                &mut entry,
                "loaded_at_field",
                config.get("loaded_at_field").cloned().unwrap_or(Json::Null),
            );
            default(&mut entry, "loaded_at_query", Json::Null);
            default(
                &mut entry,
                "freshness",
                config.get("freshness").cloned().unwrap_or_else(|| {
                    json!({"warn_after": {"count": null, "period": null}, "error_after": {"count": null, "period": null}, "filter": null})
                }),
            );
            default(&mut entry, "external", Json::Null);
            default(&mut entry, "source_meta", json!({}));
        }
        _ => {}
    }
    Json::Object(entry)
}

/// dbt's flat graph of `manifest`: `nodes` (everything but sources and
/// unit tests), `sources`, `unit_tests`, and the kinds sluice does not
/// model (`exposures`, `metrics`, `groups`, `semantic_models`,
/// `saved_queries`, `functions`) empty.
pub fn flat_graph(manifest: &Manifest, target_path: &str) -> Value {
    let mut nodes = Map::new();
    let mut sources = Map::new();
    let mut unit_tests = Map::new();
    for node in &manifest.nodes {
        let section = match node.resource_type {
            ResourceType::Source => &mut sources,
            ResourceType::UnitTest => &mut unit_tests,
            _ => &mut nodes,
        };
        section.insert(node.unique_id.clone(), entry(node, target_path));
    }
    Value::from_serialize(json!({
        "exposures": {},
        "functions": {},
        "groups": {},
        "metrics": {},
        "nodes": nodes,
        "sources": sources,
        "semantic_models": {},
        "saved_queries": {},
        "unit_tests": unit_tests,
    }))
}
