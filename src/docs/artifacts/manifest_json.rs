//! Writing manifest.json: the node, source and unit test maps streamed in
//! parallel chunks, then macros, docs, disabled nodes and the parent and
//! child maps, in dbt's key order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value as Json};

use crate::compile::Compiled;
use crate::docs::artifacts::invocation::{metadata, Invocation};
use crate::docs::artifacts::node_entry::NodeEntry;
use crate::docs::artifacts::write::write_chunked;
use crate::error::Result;
use crate::manifest::{Manifest, Node, ResourceType};
use crate::render::MacroDef;

/// `"unique_id":{...}` of a node in manifest.json, as bytes ([`NodeEntry`]).
fn write_node_entry(node: &Node, target_path: &str, compiled: Option<&Compiled>) -> Vec<u8> {
    let mut entry = Vec::with_capacity(4096);
    let _ = serde_json::to_writer(&mut entry, node.unique_id.as_str());
    entry.push(b':');
    let _ = serde_json::to_writer(&mut entry, &NodeEntry::new(node, target_path, compiled));
    entry
}

fn macro_json(def: &MacroDef) -> Json {
    json!({
        "unique_id": def.unique_id,
        "name": def.name,
        "resource_type": "macro",
        "package_name": def.unique_id.split('.').nth(1).unwrap_or_default(),
        "original_file_path": def.path,
        "path": def.path,
        "macro_sql": def.source.trim_start(),
        "checksum": {"name": "sha256", "checksum": crate::manifest::sha256(def.source.trim_start())},
    })
}

/// Writes the manifest.json document to `out`.
///
/// Node entries are built and serialized in parallel, a chunk at a time, and
/// streamed: building one JSON tree (or one string) of tens of thousands of
/// nodes cost more in fresh memory than the serialization itself.
///
/// Errors: those of `out`.
pub fn write_manifest_json(
    out: &mut dyn std::io::Write,
    manifest: &Manifest,
    macros: &[MacroDef],
    docs: &BTreeMap<String, (String, String)>,
    target_path: &str,
    compiled: &HashMap<usize, Result<Compiled>>,
    inv: &Invocation,
) -> std::io::Result<()> {
    // dbt keeps sources and unit tests out of `nodes`, in maps of their own.
    let write_map = |out: &mut dyn std::io::Write, want: &[ResourceType]| {
        let members: Vec<usize> = (0..manifest.nodes.len())
            .filter(|&i| {
                let ty = manifest.nodes[i].resource_type;
                if want.is_empty() {
                    !matches!(ty, ResourceType::Source | ResourceType::UnitTest)
                } else {
                    want.contains(&ty)
                }
            })
            .collect();
        out.write_all(b"{")?;
        write_chunked(out, &members, |&i| {
            write_node_entry(
                &manifest.nodes[i],
                target_path,
                compiled.get(&i).and_then(|r| r.as_ref().ok()),
            )
        })?;
        out.write_all(b"}")
    };
    out.write_all(b"{\"nodes\":")?;
    write_map(out, &[])?;
    out.write_all(b",\"sources\":")?;
    write_map(out, &[ResourceType::Source])?;
    out.write_all(b",\"unit_tests\":")?;
    write_map(out, &[ResourceType::UnitTest])?;
    let mut parent_map: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut child_map: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for node in &manifest.nodes {
        parent_map
            .entry(&node.unique_id)
            .or_default()
            .extend(node.depends_on.iter().map(String::as_str));
        child_map.entry(&node.unique_id).or_default();
        for dep in &node.depends_on {
            child_map
                .entry(dep.as_str())
                .or_default()
                .insert(&node.unique_id);
        }
    }
    // As dbt: an exposure is a child of what it reads.
    for e in &manifest.exposures {
        parent_map
            .entry(&e.unique_id)
            .or_default()
            .extend(e.depends_on.iter().map(String::as_str));
        child_map.entry(&e.unique_id).or_default();
        for dep in &e.depends_on {
            child_map
                .entry(dep.as_str())
                .or_default()
                .insert(&e.unique_id);
        }
    }
    let disabled: Map<String, Json> = manifest
        .disabled
        .iter()
        .map(|n| {
            (
                n.unique_id.clone(),
                json!([NodeEntry::new(n, target_path, None)]),
            )
        })
        .collect();
    let docs: Map<String, Json> = docs
        .iter()
        .map(|(name, (path, text))| {
            let uid = format!("doc.{}.{name}", manifest.project_name);
            let doc = json!({
                "name": name,
                "resource_type": "doc",
                "package_name": manifest.project_name,
                "path": path,
                "original_file_path": path,
                "unique_id": uid,
                "block_contents": text,
            });
            (uid, doc)
        })
        .collect();
    let macros: Map<String, Json> = macros
        .iter()
        .map(|m| (m.unique_id.clone(), macro_json(m)))
        .collect();
    // The remaining keys, in dbt's order, each serialized straight to `out`
    // (the parent and child maps are ~6 MB at 28,000 nodes).
    let empty = Map::new();
    let exposures: Map<String, Json> = manifest
        .exposures
        .iter()
        .map(|e| (e.unique_id.clone(), e.to_json()))
        .collect();
    let groups: Map<String, Json> = manifest
        .groups
        .iter()
        .map(|g| (g.unique_id.clone(), g.to_json()))
        .collect();
    let rest: [(&str, &dyn erased::Serialize); 13] = [
        (
            "metadata",
            &metadata(
                inv,
                "https://schemas.getdbt.com/dbt/manifest/v12.json",
                Some((&manifest.project_name, &manifest.adapter_type)),
            ),
        ),
        ("macros", &macros),
        ("docs", &docs),
        ("exposures", &exposures),
        ("metrics", &empty),
        ("groups", &groups),
        ("selectors", &empty),
        ("disabled", &disabled),
        ("parent_map", &parent_map),
        ("child_map", &child_map),
        ("group_map", &empty),
        ("saved_queries", &empty),
        ("semantic_models", &empty),
    ];
    for (key, value) in rest {
        write!(out, ",\"{key}\":")?;
        value.write_json(out)?;
    }
    out.write_all(b"}")
}

/// Values of different types written in one list (see [`write_manifest_json`]).
mod erased {
    /// A value that can write itself as JSON.
    pub trait Serialize {
        /// Writes `self` as compact JSON to `out`.
        fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Serialize for T {
        fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(out, self).map_err(std::io::Error::from)
        }
    }
}
