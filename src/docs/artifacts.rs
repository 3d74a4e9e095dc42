//! `target/manifest.json` and `target/run_results.json`, in the shape of
//! dbt's v12 manifest and v6 run results: the fields a dbt user's tooling
//! reads (nodes with unique_id, resource_type, depends_on, config, paths;
//! results with status, timing, message, failures).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value as Json};

use crate::compile::{compiled_path, Compiled};
use crate::error::{Error, Result};
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::render::MacroDef;
use crate::run::NodeResult;

/// The dbt version sluice's artifacts claim compatibility with.
pub const DBT_VERSION_COMPAT: &str = "1.8.0";

/// Metadata common to both artifacts.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// A fresh UUID per command.
    pub invocation_id: String,
    /// When the command started.
    pub generated_at: DateTime<Utc>,
}

impl Invocation {
    /// A new invocation starting now.
    pub fn new() -> Invocation {
        Invocation {
            invocation_id: uuid::Uuid::new_v4().to_string(),
            generated_at: Utc::now(),
        }
    }
}

impl Default for Invocation {
    fn default() -> Self {
        Invocation::new()
    }
}

/// The `metadata` block of an artifact: dbt's schema URL, versions, time,
/// invocation and, for project artifacts, the project and adapter.
pub fn metadata(inv: &Invocation, schema: &str, project: Option<&str>) -> Json {
    let mut m = json!({
        "dbt_schema_version": schema,
        "dbt_version": DBT_VERSION_COMPAT,
        "generated_at": inv.generated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "invocation_id": inv.invocation_id,
        "env": {},
        "generator": format!("sluice {}", env!("CARGO_PKG_VERSION")),
    });
    if let Some(p) = project {
        m["project_name"] = json!(p);
        m["adapter_type"] = json!("duckdb");
    }
    m
}

fn columns_json(node: &Node) -> Map<String, Json> {
    node.columns
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                json!({
                    "name": c.name,
                    "description": c.description,
                    "data_type": c.data_type,
                    "meta": {},
                    "tags": c.tags,
                    "quote": c.quote,
                }),
            )
        })
        .collect()
}

/// A node's manifest entry; its large fields (`raw_code`,
/// `columns_lineage`, `compiled_code`) are `null` placeholders that
/// [`write_node_entry`] fills from where the data is.
fn node_json(node: &Node, target_path: &str, compiled: Option<&Compiled>) -> Json {
    let rel = node.relation.as_ref();
    let mut n = json!({
        "unique_id": node.unique_id,
        "name": node.name,
        "resource_type": node.resource_type.as_str(),
        "package_name": node.package_name,
        "path": slash(&node.path),
        "original_file_path": slash(&node.original_file_path),
        "fqn": node.fqn,
        "database": rel.map(|r| r.database.clone()),
        "schema": rel.map(|r| r.schema.clone()),
        "alias": rel.map(|r| r.identifier.clone()).or_else(|| node.config.get_str("alias")),
        "relation_name": rel.map(|r| r.to_string()),
        "checksum": {"name": if node.checksum.is_empty() { "none" } else { "sha256" }, "checksum": node.checksum},
        "config": node.config.0,
        "tags": node.config.tags(),
        "meta": node.config.get("meta").cloned().unwrap_or(json!({})),
        "description": node.description,
        "columns": columns_json(node),
        "patch_path": node.patch_path.as_ref().map(|p| format!("{}://{}", node.package_name, slash(p))),
        "docs": node.config.get("docs").cloned().unwrap_or(json!({"show": true, "node_color": null})),
        "language": "sql",
        "raw_code": null,
        "refs": node.refs.iter().map(|r| json!({"name": r.name, "package": r.package, "version": null})).collect::<Vec<_>>(),
        "sources": node.sources.iter().map(|(s, t)| json!([s, t])).collect::<Vec<_>>(),
        "depends_on": {"macros": node.depends_on_macros, "nodes": node.depends_on},
        "columns_lineage": null,
        "model": node.unit_test.as_ref().map(|u| u.model.clone()),
        "given": node.unit_test.as_ref().map(|u| json!(u.given)),
        "expect": node.unit_test.as_ref().map(|u| json!(u.expect)),
    });
    if matches!(
        node.resource_type,
        ResourceType::Model | ResourceType::Test | ResourceType::Analysis
    ) {
        n["compiled_path"] = json!(slash(&compiled_path(target_path, node)));
        n["compiled"] = json!(compiled.is_some());
        n["compiled_code"] = Json::Null;
        n["extra_ctes_injected"] = json!(compiled.is_some());
        n["extra_ctes"] = json!([]);
    }
    if let Some(meta) = &node.test_metadata {
        n["test_metadata"] =
            json!({"name": meta.name, "kwargs": meta.kwargs, "namespace": meta.namespace});
        n["column_name"] = json!(meta.column_name);
        n["attached_node"] = json!(meta.attached_node);
        n["file_key_name"] = json!(meta
            .attached_node
            .as_ref()
            .map(|a| format!("models.{}", a.rsplit('.').next().unwrap_or(a))));
    }
    if let Some(src) = &node.source {
        n["source_name"] = json!(src.source_name);
        n["source_description"] = json!(src.source_description);
        n["loader"] = json!(src.loader);
        n["identifier"] = json!(rel.map(|r| r.identifier.clone()));
        n["name"] = json!(node.name);
    }
    n
}

/// `"unique_id":{...}` of a node in manifest.json, as bytes, keys in
/// [`node_json`]'s order. The SQL and the column lineage (most of a
/// manifest's bytes) are serialized from where they are, not copied into a
/// JSON value first.
fn write_node_entry(node: &Node, target_path: &str, compiled: Option<&Compiled>) -> Vec<u8> {
    let mut entry = Vec::with_capacity(4096);
    let _ = serde_json::to_writer(&mut entry, node.unique_id.as_str());
    entry.push(b':');
    write_object(
        &mut entry,
        &node_json(node, target_path, compiled),
        |key, out| {
            match key {
                "raw_code" => serde_json::to_writer(out, node.raw_code.as_str()),
                "columns_lineage" => {
                    serde_json::to_writer(out, &compiled.and_then(|c| c.columns_lineage.as_ref()))
                }
                "compiled_code" => serde_json::to_writer(out, &compiled.map(|c| c.code.as_str())),
                _ => return false,
            }
            .is_ok()
        },
    );
    entry
}

/// Serializes `value` to `out`, except the object fields that `borrowed`
/// writes itself (it returns whether it did): their values in `value` are
/// placeholders, so large data is written from where it is, not copied into
/// the value, and the keys keep `value`'s order.
fn write_object(out: &mut Vec<u8>, value: &Json, borrowed: impl Fn(&str, &mut Vec<u8>) -> bool) {
    let Json::Object(fields) = value else {
        let _ = serde_json::to_writer(out, value);
        return;
    };
    out.push(b'{');
    for (k, (key, value)) in fields.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        if !borrowed(key, out) {
            let _ = serde_json::to_writer(&mut *out, value);
        }
    }
    out.push(b'}');
}

/// Writes one entry per item, comma-separated, to `out`: entries are built
/// in parallel (rayon), 1,024 at a time, and written in `items`' order, so
/// an artifact of tens of thousands of nodes is never held whole.
///
/// Errors: those of `out`.
fn write_chunked<T: Sync>(
    out: &mut dyn std::io::Write,
    items: &[T],
    entry: impl Fn(&T) -> Vec<u8> + Sync,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    for (k, chunk) in items.chunks(1024).enumerate() {
        let entries: Vec<Vec<u8>> = chunk.par_iter().map(&entry).collect();
        for (j, e) in entries.iter().enumerate() {
            if k > 0 || j > 0 {
                out.write_all(b",")?;
            }
            out.write_all(e)?;
        }
    }
    Ok(())
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
    let disabled: Map<String, Json> = manifest
        .disabled
        .iter()
        .map(|n| {
            (
                n.unique_id.clone(),
                json!([node_json(n, target_path, None)]),
            )
        })
        .collect();
    let rest = json!({
        "metadata": metadata(inv, "https://schemas.getdbt.com/dbt/manifest/v12.json", Some(&manifest.project_name)),
        "macros": macros.iter().map(|m| (m.unique_id.clone(), macro_json(m))).collect::<Map<_, _>>(),
        "docs": docs
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
            .collect::<Map<_, _>>(),
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": disabled,
        "parent_map": parent_map,
        "child_map": child_map,
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
    });
    let rest = rest.to_string();
    out.write_all(b",")?;
    out.write_all(&rest.as_bytes()[1..])
}

/// Writes run_results.json (dbt's run-results v6 schema) for `results` of a
/// command that ran `elapsed` seconds to `dir`: results in start order,
/// each with its compiled code. Streamed: results are serialized in
/// parallel chunks of 1,024, never held as one document (at 28,000 nodes
/// the document is ~25 MB of compiled SQL).
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_run_results_json(
    dir: &Path,
    manifest: &Manifest,
    results: &[NodeResult],
    compiled: &HashMap<usize, Result<Compiled>>,
    elapsed: f64,
    args: Json,
    inv: &Invocation,
) -> Result<()> {
    let mut sorted: Vec<&NodeResult> = results.iter().collect();
    sorted.sort_by_key(|r| r.started_at);
    let ts = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let result_json = |r: &NodeResult| {
        let node = &manifest.nodes[r.index];
        let c = compiled.get(&r.index).and_then(|c| c.as_ref().ok());
        let result = json!({
            "status": r.status,
            "timing": if r.status == crate::run::Status::Skipped { json!([]) } else { json!([
                {"name": "compile", "started_at": ts(&r.started_at), "completed_at": ts(&r.started_at)},
                {"name": "execute", "started_at": ts(&r.started_at), "completed_at": ts(&r.completed_at)},
            ]) },
            "thread_id": r.thread_id,
            "execution_time": r.execution_time,
            "adapter_response": if r.status == crate::run::Status::Success {
                json!({"_message": r.message, "code": r.message.split_whitespace().next(), "rows_affected": r.rows})
            } else { json!({}) },
            "message": r.message,
            "failures": r.failures,
            "unique_id": node.unique_id,
            "compiled": c.is_some(),
            "compiled_code": null,
            "relation_name": node.relation.as_ref().map(|r| r.to_string()),
            "batch_results": null,
        });
        let mut bytes = Vec::with_capacity(1024);
        write_object(&mut bytes, &result, |key, out| {
            key == "compiled_code"
                && serde_json::to_writer(out, &c.map(|c| c.code.as_str())).is_ok()
        });
        bytes
    };
    let metadata = metadata(
        inv,
        "https://schemas.getdbt.com/dbt/run-results/v6.json",
        None,
    );
    write_with(dir, "run_results.json", &mut |out| {
        out.write_all(b"{\"metadata\":")?;
        serde_json::to_writer(&mut *out, &metadata)?;
        out.write_all(b",\"results\":[")?;
        write_chunked(out, &sorted, |r| result_json(r))?;
        out.write_all(b"],\"elapsed_time\":")?;
        serde_json::to_writer(&mut *out, &elapsed)?;
        out.write_all(b",\"args\":")?;
        serde_json::to_writer(&mut *out, &args)?;
        out.write_all(b"}")
    })
}

/// Writes `doc` as JSON to `dir/name`, through a temp file renamed
/// into place, so a reader never sees half an artifact.
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_json(dir: &Path, name: &str, doc: &Json) -> Result<()> {
    // Compact, as dbt writes its artifacts; streamed, not built as one string.
    write_with(dir, name, &mut |out| {
        serde_json::to_writer(out, doc).map_err(std::io::Error::from)
    })
}

/// Writes `text` to `dir/name` through a temp file renamed into place.
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_text(dir: &Path, name: &str, text: &str) -> Result<()> {
    write_with(dir, name, &mut |out| out.write_all(text.as_bytes()))
}

/// Writes `dir/name` with `write` (given a buffered writer), through a temp
/// file renamed into place, so a reader never sees half an artifact.
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_with(
    dir: &Path,
    name: &str,
    write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let path = dir.join(name);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io("create a temp file in", dir, e))?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("write", &path, e))?;
    }
    #[cfg(unix)]
    {
        // NamedTempFile is created 0600; artifacts are ordinary files.
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(&path)
        .map_err(|e| Error::io("write", &path, e.error))?;
    Ok(())
}
