//! `target/manifest.json` and `target/run_results.json`, in the shape of
//! dbt's v12 manifest and v6 run results: the fields a dbt user's tooling
//! reads (nodes with unique_id, resource_type, depends_on, config, paths;
//! results with status, timing, message, failures).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value as Json};

use crate::compile::{compiled_path, Compiled};
use crate::error::{Error, Result};
use crate::execute::NodeResult;
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::render::MacroDef;

pub use crate::project::installed::DBT_VERSION_COMPAT;

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
                    "constraints": c.constraints.iter().map(|k| constraint_json(k, false)).collect::<Vec<_>>(),
                }),
            )
        })
        .collect()
}

/// A constraint in dbt's manifest shape (dbt-common's
/// `ColumnLevelConstraint`, plus `columns` for a `ModelLevelConstraint`).
fn constraint_json(c: &crate::project::schema_yaml::Constraint, model_level: bool) -> Json {
    let mut entry = json!({
        "type": c.kind.as_str(),
        "name": c.name,
        "expression": c.expression,
        "warn_unenforced": c.warn_unenforced,
        "warn_unsupported": c.warn_unsupported,
        "to": c.to,
        "to_columns": c.to_columns,
    });
    if let (true, Json::Object(m)) = (model_level, &mut entry) {
        m.insert("columns".into(), json!(c.columns));
    }
    entry
}

/// A node's manifest entry (dbt's v12 node fields, plus sluice's
/// `columns_lineage`), serialized from where its data is: the SQL, the
/// column lineage and the config are borrowed, not copied into a JSON tree.
#[derive(serde::Serialize)]
pub(crate) struct NodeEntry<'a> {
    unique_id: &'a str,
    name: &'a str,
    resource_type: &'a str,
    package_name: &'a str,
    path: String,
    original_file_path: String,
    fqn: &'a [String],
    database: Option<&'a str>,
    schema: Option<&'a str>,
    /// Absent for sources, which have no alias in dbt (`identifier` names their table).
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<Option<String>>,
    relation_name: Option<String>,
    checksum: Checksum<'a>,
    config: BTreeMap<String, Json>,
    tags: Vec<String>,
    meta: Cow<'a, Json>,
    description: &'a str,
    columns: Map<String, Json>,
    patch_path: Option<String>,
    docs: Cow<'a, Json>,
    language: &'static str,
    raw_code: &'a str,
    refs: Vec<RefEntry<'a>>,
    sources: Vec<[&'a str; 2]>,
    depends_on: DependsOn<'a>,
    columns_lineage: Option<&'a [crate::lineage::ColumnLineage]>,
    /// Models: dbt's `contract` (`enforced`, `alias_types`, `checksum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    contract: Option<Json>,
    /// Models: model-level `constraints`, in dbt's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<Vec<Json>>,
    model: Option<&'a str>,
    given: Option<Json>,
    expect: Option<Json>,
    #[serde(flatten)]
    compiled: Option<CompiledFields<'a>>,
    #[serde(flatten)]
    test: Option<TestFields<'a>>,
    #[serde(flatten)]
    source: Option<SourceFields<'a>>,
}

#[derive(serde::Serialize)]
struct Checksum<'a> {
    name: &'static str,
    checksum: &'a str,
}

#[derive(serde::Serialize)]
struct RefEntry<'a> {
    name: &'a str,
    package: Option<&'a str>,
    version: Option<()>,
}

#[derive(serde::Serialize)]
struct DependsOn<'a> {
    macros: &'a [String],
    nodes: &'a [String],
}

#[derive(serde::Serialize)]
struct CompiledFields<'a> {
    compiled_path: String,
    compiled: bool,
    compiled_code: Option<&'a str>,
    extra_ctes_injected: bool,
    extra_ctes: [(); 0],
}

#[derive(serde::Serialize)]
struct TestFields<'a> {
    test_metadata: TestMetadataEntry<'a>,
    column_name: Option<&'a str>,
    attached_node: Option<&'a str>,
    file_key_name: Option<String>,
}

#[derive(serde::Serialize)]
struct TestMetadataEntry<'a> {
    name: &'a str,
    kwargs: &'a Map<String, Json>,
    namespace: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct SourceFields<'a> {
    source_name: &'a str,
    source_description: &'a str,
    loader: &'a str,
    identifier: Option<&'a str>,
}

impl<'a> NodeEntry<'a> {
    pub(crate) fn new(
        node: &'a Node,
        target_path: &str,
        compiled: Option<&'a Compiled>,
    ) -> NodeEntry<'a> {
        let rel = node.manifest_relation.as_ref().or(node.relation.as_ref());
        let has_compiled = matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Test | ResourceType::Analysis
        );
        NodeEntry {
            unique_id: &node.unique_id,
            name: &node.name,
            resource_type: node.resource_type.as_str(),
            package_name: &node.package_name,
            path: slash(&node.path),
            original_file_path: slash(node.package_file_path()),
            fqn: &node.fqn,
            database: rel.map(|r| r.database.as_str()),
            schema: rel.map(|r| r.schema.as_str()),
            alias: (node.resource_type != ResourceType::Source).then(|| {
                rel.map(|r| r.identifier.clone())
                    .or_else(|| node.config.get_str("alias"))
            }),
            // Null for an ephemeral model (a CTE) and a test, as dbt's.
            relation_name: node
                .relation
                .as_ref()
                .filter(|r| !r.is_cte())
                .map(|r| r.to_string()),
            checksum: Checksum {
                name: if node.checksum.is_empty() {
                    "none"
                } else {
                    "sha256"
                },
                checksum: &node.checksum,
            },
            config: crate::manifest::config_defaults::with_dbt_defaults(
                node.resource_type,
                &node.config.0,
            ),
            tags: node.config.tags(),
            meta: node
                .config
                .get("meta")
                .map_or_else(|| Cow::Owned(json!({})), Cow::Borrowed),
            description: &node.description,
            columns: columns_json(node),
            patch_path: node
                .package_patch_path()
                .map(|p| format!("{}://{}", node.package_name, slash(p))),
            docs: node.config.get("docs").map_or_else(
                || Cow::Owned(json!({"show": true, "node_color": null})),
                Cow::Borrowed,
            ),
            language: "sql",
            // dbt reads files stripped of surrounding whitespace.
            raw_code: node.raw_code.trim(),
            refs: node
                .refs
                .iter()
                .map(|r| RefEntry {
                    name: &r.name,
                    package: r.package.as_deref(),
                    version: None,
                })
                .collect(),
            sources: node
                .sources
                .iter()
                .map(|(s, t)| [s.as_str(), t.as_str()])
                .collect(),
            depends_on: DependsOn {
                macros: &node.depends_on_macros,
                nodes: &node.depends_on,
            },
            columns_lineage: compiled.and_then(|c| c.columns_lineage.as_deref()),
            contract: (node.resource_type == ResourceType::Model)
                .then(|| crate::project::config::Contract::of(&node.config).manifest_json()),
            constraints: (node.resource_type == ResourceType::Model).then(|| {
                node.constraints
                    .iter()
                    .map(|c| constraint_json(c, true))
                    .collect()
            }),
            model: node.unit_test.as_ref().map(|u| u.model.as_str()),
            given: node.unit_test.as_ref().map(|u| json!(u.given)),
            expect: node.unit_test.as_ref().map(|u| json!(u.expect)),
            compiled: has_compiled.then(|| CompiledFields {
                compiled_path: slash(&compiled_path(target_path, node)),
                compiled: compiled.is_some(),
                compiled_code: compiled.map(|c| c.code.as_str()),
                extra_ctes_injected: compiled.is_some(),
                extra_ctes: [],
            }),
            test: node.test_metadata.as_ref().map(|meta| TestFields {
                test_metadata: TestMetadataEntry {
                    name: &meta.name,
                    kwargs: &meta.kwargs,
                    namespace: meta.namespace.as_deref(),
                },
                column_name: meta.column_name.as_deref(),
                attached_node: meta.attached_node.as_deref(),
                file_key_name: meta
                    .attached_node
                    .as_ref()
                    .map(|a| format!("models.{}", a.rsplit('.').next().unwrap_or(a))),
            }),
            source: node.source.as_ref().map(|src| SourceFields {
                source_name: &src.source_name,
                source_description: &src.source_description,
                loader: &src.loader,
                identifier: rel.map(|r| r.identifier.as_str()),
            }),
        }
    }
}

/// `"unique_id":{...}` of a node in manifest.json, as bytes ([`NodeEntry`]).
fn write_node_entry(node: &Node, target_path: &str, compiled: Option<&Compiled>) -> Vec<u8> {
    let mut entry = Vec::with_capacity(4096);
    let _ = serde_json::to_writer(&mut entry, node.unique_id.as_str());
    entry.push(b':');
    let _ = serde_json::to_writer(&mut entry, &NodeEntry::new(node, target_path, compiled));
    entry
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
    let rest: [(&str, &dyn erased::Serialize); 13] = [
        (
            "metadata",
            &metadata(
                inv,
                "https://schemas.getdbt.com/dbt/manifest/v12.json",
                Some(&manifest.project_name),
            ),
        ),
        ("macros", &macros),
        ("docs", &docs),
        ("exposures", &empty),
        ("metrics", &empty),
        ("groups", &empty),
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

/// One entry of run_results.json's `results`, in dbt's key order,
/// serialized from where its data is.
#[derive(serde::Serialize)]
struct ResultEntry<'a> {
    status: crate::execute::Status,
    timing: Vec<TimingEntry<'a>>,
    thread_id: &'a str,
    execution_time: f64,
    /// `{}` unless the node succeeded.
    #[serde(serialize_with = "adapter_response_or_empty")]
    adapter_response: Option<AdapterResponse<'a>>,
    message: &'a str,
    failures: Option<i64>,
    unique_id: &'a str,
    compiled: bool,
    compiled_code: Option<&'a str>,
    relation_name: Option<String>,
    batch_results: Option<()>,
}

#[derive(serde::Serialize)]
struct TimingEntry<'a> {
    name: &'static str,
    started_at: &'a str,
    completed_at: &'a str,
}

#[derive(serde::Serialize)]
struct AdapterResponse<'a> {
    #[serde(rename = "_message")]
    message: &'a str,
    code: Option<&'a str>,
    rows_affected: Option<i64>,
}

fn adapter_response_or_empty<S: serde::Serializer>(
    value: &Option<AdapterResponse>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::Serialize;
    match value {
        Some(response) => response.serialize(serializer),
        None => Map::new().serialize(serializer),
    }
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
        let (started, completed) = (ts(&r.started_at), ts(&r.completed_at));
        let timing = if r.status == crate::execute::Status::Skipped {
            Vec::new()
        } else {
            vec![
                TimingEntry {
                    name: "compile",
                    started_at: &started,
                    completed_at: &started,
                },
                TimingEntry {
                    name: "execute",
                    started_at: &started,
                    completed_at: &completed,
                },
            ]
        };
        let result = ResultEntry {
            status: r.status,
            timing,
            thread_id: &r.thread_id,
            execution_time: r.execution_time,
            adapter_response: (r.status == crate::execute::Status::Success).then(|| {
                AdapterResponse {
                    message: &r.message,
                    code: r.message.split_whitespace().next(),
                    rows_affected: r.rows,
                }
            }),
            message: &r.message,
            failures: r.failures,
            unique_id: &node.unique_id,
            compiled: c.is_some(),
            compiled_code: c.map(|c| c.code.as_str()),
            relation_name: node.relation.as_ref().map(|r| r.to_string()),
            batch_results: None,
        };
        let mut bytes = Vec::with_capacity(1024);
        let _ = serde_json::to_writer(&mut bytes, &result);
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
