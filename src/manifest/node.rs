//! A node of the manifest (model, seed, snapshot, source, test, unit test,
//! analysis) as dbt's manifest.json describes it, and the path and hash
//! helpers its fields use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::Digest;
use minijinja::Value;
use serde_json::{Map, Value as Json};

use crate::error::Location;
use crate::project::config::Config;
use crate::project::schema_yaml::{ColumnDef, Constraint, ModelVersion};
use crate::render::{NodeVars, RefCall};
use crate::warehouse::relation::Relation;

/// The kind of a node, as dbt's `resource_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceType {
    /// A SQL model.
    Model,
    /// A CSV seed.
    Seed,
    /// A source table declared in YAML.
    Source,
    /// A data test (generic or singular).
    Test,
    /// An analysis: compiled, never run.
    Analysis,
    /// A dbt 1.8 unit test: a model's SQL run on fixture rows.
    UnitTest,
    /// A snapshot: SCD Type 2 (or sluice's Type 1) history of a select.
    Snapshot,
}

impl ResourceType {
    /// The lowercase name dbt uses (`model`, `seed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Seed => "seed",
            ResourceType::Source => "source",
            ResourceType::Test => "test",
            ResourceType::Analysis => "analysis",
            ResourceType::UnitTest => "unit_test",
            ResourceType::Snapshot => "snapshot",
        }
    }

    /// Parses a `--resource-type` value.
    pub fn parse(s: &str) -> Option<ResourceType> {
        Some(match s {
            "model" => ResourceType::Model,
            "seed" => ResourceType::Seed,
            "source" => ResourceType::Source,
            "test" | "data_test" => ResourceType::Test,
            "analysis" => ResourceType::Analysis,
            "unit_test" => ResourceType::UnitTest,
            "snapshot" => ResourceType::Snapshot,
            _ => return None,
        })
    }
}

/// A source table's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// The source (group) name.
    pub source_name: String,
    /// Description of the source group.
    pub source_description: String,
    /// Loader, for documentation.
    pub loader: String,
}

/// One node of the project.
#[derive(Debug, Clone)]
pub struct Node {
    /// `model.shop.orders`, `seed.shop.raw_customers`, `source.shop.raw.orders`, `test.shop.<name>.<hash>`.
    pub unique_id: String,
    /// Node name (file stem, or the generated test name).
    pub name: String,
    /// Kind of node.
    pub resource_type: ResourceType,
    /// Package (project) name.
    pub package_name: String,
    /// Path relative to the node's resource folder (dbt's `path`).
    pub path: PathBuf,
    /// Path relative to the project root, where sluice reads the file and
    /// what its messages show. For a package's node this goes through the
    /// package's folder; dbt's `original_file_path` does not (see
    /// [`Node::package_file_path`]).
    pub original_file_path: PathBuf,
    /// Folder of the node's package relative to the project root (empty for
    /// the root project's nodes and for a package found nowhere).
    pub package_dir: PathBuf,
    /// Fully qualified name: `[package, folders..., name]`.
    pub fqn: Vec<String>,
    /// The template text (empty for seeds and sources).
    pub raw_code: String,
    /// Resolved config.
    pub config: Config,
    /// Markdown description.
    pub description: String,
    /// Documented columns, in YAML order.
    pub columns: Vec<ColumnDef>,
    /// Model-level `constraints:` from schema YAML (dbt 1.5).
    pub constraints: Vec<Constraint>,
    /// Schema YAML file that described the node.
    pub patch_path: Option<PathBuf>,
    /// Where the node lives in the warehouse (None for tests that store nothing, analyses).
    pub relation: Option<Relation>,
    /// The relation dbt names the node by in manifest.json and `graph`
    /// (`database`, `schema`, `alias`) where [`Node::relation`] is something
    /// else or nothing: a data test's (the target's schema with the
    /// `dbt_test__audit` suffix, as the naming macros make it) and an
    /// ephemeral model's (named as a table would be, though it is a CTE).
    pub manifest_relation: Option<Relation>,
    /// `ref()` calls, in order.
    pub refs: Vec<RefCall>,
    /// `source()` calls.
    pub sources: Vec<(String, String)>,
    /// unique_ids this node depends on, sorted.
    pub depends_on: Vec<String>,
    /// Macros the node's file calls directly (by unique_id), sorted.
    pub depends_on_macros: Vec<String>,
    /// Generic test metadata.
    pub test_metadata: Option<TestMetadata>,
    /// Source fields, for sources.
    pub source: Option<SourceInfo>,
    /// sha256 of the file contents (dbt's checksum).
    pub checksum: String,
    /// [`Node::template_value`] of the parsed node, cached for the compile render.
    pub template: Option<Value>,
    /// The definition, for unit tests.
    pub unit_test: Option<Arc<crate::project::schema_yaml::UnitTestDef>>,
    /// Which version of a versioned model this is (dbt 1.5): `name` is
    /// then `<model>_v<v>`, and manifest.json, `ref()` and selectors speak
    /// of the model's name (`version.base`) and `version.v`.
    pub version: Option<ModelVersion>,
}

impl Node {
    /// A node with its identity set and everything else empty, to be
    /// filled with struct update syntax.
    pub fn blank(
        unique_id: String,
        name: String,
        resource_type: ResourceType,
        package_name: &str,
    ) -> Node {
        Node {
            unique_id,
            name,
            resource_type,
            package_name: package_name.to_owned(),
            path: PathBuf::new(),
            original_file_path: PathBuf::new(),
            package_dir: PathBuf::new(),
            fqn: Vec::new(),
            manifest_relation: None,
            raw_code: String::new(),
            config: Config::default(),
            description: String::new(),
            columns: Vec::new(),
            constraints: Vec::new(),
            patch_path: None,
            relation: None,
            refs: Vec::new(),
            sources: Vec::new(),
            depends_on: Vec::new(),
            depends_on_macros: Vec::new(),
            test_metadata: None,
            source: None,
            checksum: String::new(),
            template: None,
            unit_test: None,
            version: None,
        }
    }

    /// The name dbt gives the node: a versioned model's model name
    /// (`dim_customers`, not `dim_customers_v2`), else `name`.
    pub fn dbt_name(&self) -> &str {
        self.version.as_ref().map_or(&self.name, |v| &v.base)
    }

    /// The materialization: the `materialized` config for models, `seed`,
    /// `test`, `source` or `analysis` otherwise.
    pub fn materialized(&self) -> String {
        match self.resource_type {
            ResourceType::Model => self.config.materialized(),
            other => other.as_str().to_owned(),
        }
    }

    /// Where this node's schema YAML entry is (or one of its columns, or
    /// that column's `key:` line, e.g. `data_type`), reading the file under
    /// the project `root`; `None` without a YAML entry or when not found.
    pub fn yaml_location(
        &self,
        root: &Path,
        column: Option<&str>,
        key: Option<&str>,
    ) -> Option<Location> {
        let path = self.patch_path.as_ref()?;
        let text = std::fs::read_to_string(root.join(path)).ok()?;
        // A model version's entry is its model's (`- name: dim_customers`).
        crate::project::schema_yaml::locate_in_yaml(path, &text, self.dbt_name(), column, key)
    }

    /// dbt's `original_file_path`: the file's path relative to its own
    /// package's root (`models/stg.sql` for a model of an installed package,
    /// where [`Node::original_file_path`] is `dbt_packages/pkg/models/stg.sql`).
    /// It names the compiled file and fills manifest.json, `graph` and `model`.
    pub fn package_file_path(&self) -> &Path {
        package_relative(&self.original_file_path, &self.package_dir)
    }

    /// The schema YAML file that described the node, relative to its
    /// package's root, as dbt's `patch_path` (after `<package>://`).
    pub fn package_patch_path(&self) -> Option<&Path> {
        self.patch_path
            .as_deref()
            .map(|p| package_relative(p, &self.package_dir))
    }

    /// The dict a template sees as `model` (and `node` in naming macros).
    pub fn template_value(&self) -> Value {
        /// Borrowed, so building the value copies each string once (into
        /// minijinja) rather than twice (through a serde_json tree).
        #[derive(serde::Serialize)]
        struct TemplateNode<'a> {
            unique_id: &'a str,
            name: &'a str,
            resource_type: &'static str,
            package_name: &'a str,
            path: String,
            original_file_path: String,
            fqn: &'a [String],
            config: &'a BTreeMap<String, Json>,
            tags: Vec<String>,
            description: &'a str,
            alias: Option<&'a str>,
            schema: Option<&'a str>,
            database: Option<&'a str>,
            version: Option<&'a str>,
            /// dbt 1.9's `model.batch`: its fields are none outside a
            /// microbatch batch (a batch's render fills them).
            batch: Option<BatchOutside>,
        }
        #[derive(serde::Serialize)]
        struct BatchOutside {
            id: (),
            event_time_start: (),
            event_time_end: (),
        }
        let rel = self.relation.as_ref();
        Value::from_serialize(TemplateNode {
            unique_id: &self.unique_id,
            name: self.dbt_name(),
            resource_type: self.resource_type.as_str(),
            package_name: &self.package_name,
            path: slash(&self.path),
            original_file_path: slash(self.package_file_path()),
            fqn: &self.fqn,
            config: &self.config.0,
            tags: self.config.tags(),
            description: &self.description,
            alias: rel.map(|r| r.identifier.as_str()),
            schema: rel.map(|r| r.schema.as_str()),
            database: rel.map(|r| r.database.as_str()),
            version: self.version.as_ref().map(|v| v.v.as_str()),
            batch: (self.resource_type == ResourceType::Model).then_some(BatchOutside {
                id: (),
                event_time_start: (),
                event_time_end: (),
            }),
        })
    }

    /// Vars for rendering this node (`model` is built once, after parsing).
    pub fn vars(&self) -> NodeVars {
        NodeVars {
            this: self.relation.clone(),
            model: self
                .template
                .clone()
                .unwrap_or_else(|| self.template_value()),
            test_kwargs: None,
        }
    }
}

/// What makes a generic test node generic: dbt's `test_metadata`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TestMetadata {
    /// Test name without namespace (`not_null`).
    pub name: String,
    /// Package namespace (`dbt_utils`), if written `dbt_utils.x`.
    pub namespace: Option<String>,
    /// Arguments as written, plus `column_name` and `model`.
    pub kwargs: Map<String, Json>,
    /// The column the test is on, if any.
    #[serde(skip)]
    pub column_name: Option<String>,
    /// unique_id of the model or seed the test is defined on.
    #[serde(skip)]
    pub attached_node: Option<String>,
}

/// A path with forward slashes, for artifacts and templates.
pub fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Hex sha256 of a text.
pub fn sha256(text: &str) -> String {
    sha256_bytes(text.as_bytes())
}

pub(crate) fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::Sha256;
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex md5 of a text (dbt's test name hashing).
pub fn md5_hex(text: &str) -> String {
    let digest = md5::Md5::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `path` without the leading `dir` (a package's folder), or `path` itself
/// when it is not under `dir`.
fn package_relative<'a>(path: &'a Path, dir: &Path) -> &'a Path {
    if dir.as_os_str().is_empty() {
        return path;
    }
    path.strip_prefix(dir).unwrap_or(path)
}
