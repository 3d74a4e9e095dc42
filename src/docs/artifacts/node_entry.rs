//! A node's entry in manifest.json ([`NodeEntry`]), in dbt's v12 node shape:
//! its paths, relation, config, columns and constraints, dependencies, and
//! the compiled, test and source fields of the nodes that have them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::compile::{compiled_path, Compiled};
use crate::manifest::{slash, Node, ResourceType};

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
    /// sluice's extension: the inferred keys and not-null columns, each
    /// with its reason (models and snapshots whose SQL was parsed).
    #[serde(skip_serializing_if = "Option::is_none")]
    grain: Option<&'a crate::grain::Grain>,
    /// sluice's extension: why a data test passes without running, when
    /// the tested model's grain proves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    proof: Option<&'a crate::grain::Proof>,
    /// sluice's extension: the model's `-- why:` notes and `meta.why`,
    /// each with the expression it explains and its pin.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    why: &'a [crate::lineage::WhyNote],
    /// Models: dbt's `contract` (`enforced`, `alias_types`, `checksum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    contract: Option<Json>,
    /// Models: model-level `constraints`, in dbt's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<Vec<Json>>,
    /// Models: dbt's `version`, `latest_version` and `deprecation_date`
    /// (null unless the model is versioned).
    #[serde(flatten)]
    versions: Option<VersionFields<'a>>,
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
    version: Option<Json>,
}

#[derive(serde::Serialize)]
struct VersionFields<'a> {
    version: Option<Json>,
    latest_version: Option<Json>,
    deprecation_date: Option<&'a str>,
}

/// A version identifier as dbt's manifest writes it: a number when it is
/// one (`v: 2` is `2`), else the text.
fn version_json(v: &str) -> Json {
    v.parse::<i64>()
        .map(Json::from)
        .or_else(|_| v.parse::<f64>().map(Json::from))
        .unwrap_or_else(|_| Json::from(v))
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
            name: node.dbt_name(),
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
                .map(|r| match &r.version {
                    // As dbt: the model's name, and the version only when pinned.
                    Some((model, v)) => RefEntry {
                        name: model,
                        package: r.package.as_deref(),
                        version: v.as_deref().map(version_json),
                    },
                    None => RefEntry {
                        name: &r.name,
                        package: r.package.as_deref(),
                        version: None,
                    },
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
            grain: compiled.and_then(|c| c.grain.as_ref()),
            proof: compiled.and_then(|c| c.proof.as_ref()),
            why: compiled.map_or(&[], |c| c.why.as_slice()),
            versions: (node.resource_type == ResourceType::Model).then(|| {
                let v = node.version.as_ref();
                VersionFields {
                    version: v.map(|v| version_json(&v.v)),
                    latest_version: v.map(|v| version_json(&v.latest)),
                    deprecation_date: v.and_then(|v| v.deprecation_date.as_deref()),
                }
            }),
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
