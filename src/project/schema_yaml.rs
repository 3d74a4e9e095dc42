//! Schema YAML files (`models/**/*.yml`): descriptions, columns, data tests,
//! sources and seed properties, in dbt's `version: 2` format.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::Location;

/// One schema YAML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SchemaFile {
    /// `models:` entries (properties patched onto models by name).
    pub models: Vec<NodePatch>,
    /// `seeds:` entries.
    pub seeds: Vec<NodePatch>,
    /// `snapshots:` entries.
    pub snapshots: Vec<NodePatch>,
    /// `analyses:` entries.
    pub analyses: Vec<NodePatch>,
    /// `sources:` definitions.
    pub sources: Vec<SourceDef>,
    /// dbt 1.8 `unit_tests:`.
    pub unit_tests: Vec<UnitTestDef>,
    /// dbt 1.5 `groups:`: named owners of models, for `access`.
    pub groups: Vec<GroupDef>,
    /// `exposures:`: dashboards, applications and notebooks that use the
    /// project's models.
    pub exposures: Vec<ExposureDef>,
}

/// An `exposures:` entry, as dbt's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExposureDef {
    /// Name, unique in the project (`exposure:<name>` selects it).
    pub name: String,
    /// A display name.
    pub label: Option<String>,
    /// dashboard, notebook, analysis, ml or application.
    #[serde(rename = "type")]
    pub kind: String,
    /// `owner:` (`name`, `email`).
    pub owner: serde_yaml::Value,
    /// `ref('m')`, `ref('package', 'm')` and `source('s', 't')` calls, as text.
    pub depends_on: Vec<String>,
    /// Where it lives.
    pub url: Option<String>,
    /// high, medium or low.
    pub maturity: Option<String>,
    /// Markdown description.
    pub description: String,
    /// `meta:`.
    pub meta: serde_yaml::Value,
    /// Tags.
    pub tags: Vec<String>,
    /// `config:` (`enabled`, `tags`, `meta`).
    pub config: serde_yaml::Value,
}

/// A `groups:` entry: a name models join with `group:`, and its owner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GroupDef {
    /// Group name.
    pub name: String,
    /// `owner:` (`name`, `email`, ...), as written.
    pub owner: serde_yaml::Value,
    /// Markdown description.
    pub description: String,
}

/// Properties of one model, seed, snapshot or analysis.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NodePatch {
    /// Node name the properties apply to.
    pub name: String,
    /// Markdown description.
    pub description: String,
    /// `config:` block (flat config keys).
    pub config: serde_yaml::Value,
    /// Columns with descriptions and tests.
    pub columns: Vec<ColumnDef>,
    /// Model-level data tests (`data_tests:`; `tests:` is the pre-1.8 key).
    #[serde(alias = "tests")]
    pub data_tests: Vec<serde_yaml::Value>,
    /// `meta:` (merged into config.meta, as dbt).
    pub meta: serde_yaml::Value,
    /// `docs:` (`show`, `node_color`).
    pub docs: serde_yaml::Value,
    /// dbt 1.9 YAML snapshots: the snapshotted relation (`ref('x')` or
    /// `source('s', 't')`); such an entry defines the snapshot.
    pub relation: Option<String>,
    /// Model-level `constraints:` (dbt 1.5), each naming its `columns`.
    pub constraints: Vec<Constraint>,
    /// `access:` written beside `config:` (dbt 1.5): private, protected, public.
    pub access: Option<String>,
    /// `group:` written beside `config:`.
    pub group: Option<String>,
    /// dbt 1.5 model versions: each entry becomes a model of its own
    /// (see [`crate::project::versions`]).
    pub versions: Vec<VersionDef>,
    /// The version `ref('name')` resolves to (default: the greatest `v`).
    pub latest_version: Option<serde_yaml::Value>,
    /// The date after which the model (or a version) is deprecated.
    pub deprecation_date: Option<serde_yaml::Value>,
    /// Which version of which model this entry is, once its model's
    /// `versions:` were expanded.
    #[serde(skip)]
    pub version: Option<ModelVersion>,
}

/// A `versions:` entry of a model, as dbt's: `v`, the file it is
/// `defined_in`, and what it changes of the model's properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VersionDef {
    /// The version identifier (a number or a string).
    pub v: serde_yaml::Value,
    /// The model file (name without `.sql`); default `<model>_v<v>`.
    pub defined_in: Option<String>,
    /// Overrides the model's description.
    pub description: Option<String>,
    /// Merged over the model's `config:`.
    pub config: serde_yaml::Value,
    /// `include`/`exclude` of the model's columns, and columns of its own.
    pub columns: Vec<serde_yaml::Value>,
    /// Replaces the model's data tests.
    #[serde(alias = "tests")]
    pub data_tests: Option<Vec<serde_yaml::Value>>,
    /// Replaces the model's constraints.
    pub constraints: Option<Vec<Constraint>>,
    /// Overrides the model's deprecation date.
    pub deprecation_date: Option<serde_yaml::Value>,
}

/// Which version of a versioned model a node is, as dbt's `version`,
/// `latest_version` and `deprecation_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersion {
    /// The model's name (`dim_customers`): what `ref()` and selectors name.
    pub base: String,
    /// This version (`2`).
    pub v: String,
    /// The latest version of the model.
    pub latest: String,
    /// The file stem the version is defined in.
    pub defined_in: String,
    /// `YYYY-MM-DD...` as written, if the version is deprecated.
    pub deprecation_date: Option<String>,
}

/// One column of a node or source table.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Markdown description.
    pub description: String,
    /// Declared type (`data_type:`), if any.
    pub data_type: Option<String>,
    /// Column-level data tests.
    #[serde(alias = "tests", skip_serializing)]
    pub data_tests: Vec<serde_yaml::Value>,
    /// `meta:` of the column.
    #[serde(skip_serializing)]
    pub meta: serde_yaml::Value,
    /// Tags of the column.
    pub tags: Vec<String>,
    /// Whether the column name is quoted in tests.
    pub quote: Option<bool>,
    /// Column-level `constraints:` (dbt 1.5), applied when the model's
    /// contract is enforced.
    #[serde(skip_serializing)]
    pub constraints: Vec<Constraint>,
}

/// The kinds of constraint dbt knows (dbt-common's `ConstraintType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// `check (<expression>)`.
    Check,
    /// `not null`.
    NotNull,
    /// `unique`.
    Unique,
    /// `primary key`.
    PrimaryKey,
    /// `references <to> (<to_columns>)` / `foreign key (...) references ...`.
    ForeignKey,
    /// `expression` written into the DDL as is.
    Custom,
}

impl ConstraintKind {
    /// The name as YAML spells it (`not_null`, `primary_key`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::Check => "check",
            ConstraintKind::NotNull => "not_null",
            ConstraintKind::Unique => "unique",
            ConstraintKind::PrimaryKey => "primary_key",
            ConstraintKind::ForeignKey => "foreign_key",
            ConstraintKind::Custom => "custom",
        }
    }
}

/// One `constraints:` entry of a column or a model, with dbt's fields
/// (dbt-common's `ColumnLevelConstraint` / `ModelLevelConstraint`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Constraint {
    /// What it constrains.
    #[serde(rename = "type")]
    pub kind: ConstraintKind,
    /// `constraint <name>` in the DDL (model-level constraints).
    #[serde(default)]
    pub name: Option<String>,
    /// The check's condition, or extra text after the keyword.
    #[serde(default)]
    pub expression: Option<String>,
    /// Warn when the warehouse accepts but does not enforce it (default true).
    #[serde(default = "yes")]
    pub warn_unenforced: bool,
    /// Warn when the warehouse or materialization cannot apply it (default true).
    #[serde(default = "yes")]
    pub warn_unsupported: bool,
    /// A foreign key's parent: `ref('m')`, `source('s', 't')` or a relation name.
    #[serde(default)]
    pub to: Option<String>,
    /// A foreign key's parent columns.
    #[serde(default)]
    pub to_columns: Vec<String>,
    /// The columns of a model-level constraint.
    #[serde(default)]
    pub columns: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A `sources:` entry: a group of tables loaded by something other than sluice.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SourceDef {
    /// Source name, the first argument of `source()`.
    pub name: String,
    /// Markdown description.
    pub description: String,
    /// Database (catalog); the target's database when unset.
    pub database: Option<String>,
    /// Schema; the source name when unset, as dbt.
    pub schema: Option<String>,
    /// Loader, for documentation.
    pub loader: String,
    /// Tables of this source.
    pub tables: Vec<SourceTable>,
    /// `config:` (e.g. `enabled`).
    pub config: serde_yaml::Value,
    /// `meta:`.
    pub meta: serde_yaml::Value,
    /// Tags applied to every table.
    pub tags: Vec<String>,
    /// `freshness:` written beside `config:` (dbt before 1.9): `None`
    /// when absent, `Some(Null)` for `freshness: null` (no check).
    #[serde(deserialize_with = "present")]
    pub freshness: Option<serde_yaml::Value>,
    /// `loaded_at_field:` written beside `config:` (dbt before 1.10).
    pub loaded_at_field: Option<String>,
    /// `loaded_at_query:` written beside `config:`.
    pub loaded_at_query: Option<String>,
}

/// One table of a source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SourceTable {
    /// Table name, the second argument of `source()`.
    pub name: String,
    /// The table's name in the warehouse when it differs from `name`.
    pub identifier: Option<String>,
    /// Markdown description.
    pub description: String,
    /// Columns with descriptions and tests.
    pub columns: Vec<ColumnDef>,
    /// Table-level data tests.
    #[serde(alias = "tests")]
    pub data_tests: Vec<serde_yaml::Value>,
    /// `config:`.
    pub config: serde_yaml::Value,
    /// `meta:`.
    pub meta: serde_yaml::Value,
    /// Tags.
    pub tags: Vec<String>,
    /// `freshness:` written beside `config:` (dbt before 1.9): `None`
    /// when absent, `Some(Null)` for `freshness: null` (no check).
    #[serde(deserialize_with = "present")]
    pub freshness: Option<serde_yaml::Value>,
    /// `loaded_at_field:` written beside `config:` (dbt before 1.10).
    pub loaded_at_field: Option<String>,
    /// `loaded_at_query:` written beside `config:`.
    pub loaded_at_query: Option<String>,
}

/// A key that is present, even as `null`: `Some(Null)` for `key: null`,
/// where a plain `Option` would give `None` as for an absent key.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_yaml::Value>, D::Error> {
    serde_yaml::Value::deserialize(d).map(Some)
}

/// One `unit_tests:` entry, as dbt's YAML.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct UnitTestDef {
    /// Test name, unique per model.
    pub name: String,
    /// The model under test.
    pub model: String,
    /// Markdown description.
    pub description: String,
    /// Fixture rows for the model's inputs.
    pub given: Vec<GivenInput>,
    /// The rows the model must return.
    pub expect: Fixture,
    /// `is_incremental`, vars and env vars for this test.
    pub overrides: Overrides,
    /// `tags`, `meta`, `enabled`.
    pub config: serde_yaml::Value,
    /// Model versions to test (accepted; versions are not modelled).
    pub versions: serde_yaml::Value,
}

/// One `given:` entry: which input, and its rows.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct GivenInput {
    /// `ref('x')`, `ref('pkg', 'x')`, `source('s', 't')` or `this`.
    pub input: String,
    /// The rows.
    #[serde(flatten)]
    pub fixture: Fixture,
}

/// Rows in one of dbt's fixture formats.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct Fixture {
    /// `dict` (default), `csv` or `sql`.
    pub format: Option<String>,
    /// A list of mappings (dict), CSV text (csv) or a query (sql).
    pub rows: Option<serde_yaml::Value>,
    /// Name of a file in `tests/fixtures/` (`<name>.csv` or `<name>.sql`) instead of `rows`.
    pub fixture: Option<String>,
}

/// `overrides:` of a unit test.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct Overrides {
    /// Macro results; `is_incremental: true` makes the model take its incremental branch.
    pub macros: BTreeMap<String, serde_yaml::Value>,
    /// Vars `var()` sees in this test.
    pub vars: BTreeMap<String, serde_yaml::Value>,
    /// Environment variables `env_var()` sees in this test.
    pub env_vars: BTreeMap<String, serde_yaml::Value>,
}

/// Whether the value at `keypath` (from the file's root: `models`, index,
/// key, ...) of a schema YAML file stays unrendered when the file is read,
/// as dbt's `SchemaYamlRenderer.should_render_keypath`: descriptions (shown
/// by the docs, with `doc()`), data tests (their arguments are rendered when
/// the test is built), hooks (rendered when they run) and `versions:`. Top
/// sections sluice does not read (exposures, metrics, ...) are left alone.
pub fn unrendered_keypath(keypath: &[String]) -> bool {
    fn entry_rule(rel: &[String]) -> bool {
        let key = |i: usize| rel.get(i).map(String::as_str);
        matches!(
            key(0),
            Some("description" | "tests" | "data_tests" | "versions")
        ) || (key(0) == Some("columns")
            && matches!(key(2), Some("description" | "tests" | "data_tests")))
            || (key(0) == Some("config")
                && matches!(
                    key(1),
                    Some("pre_hook" | "post_hook" | "pre-hook" | "post-hook")
                ))
    }
    let rel = keypath.get(2..).unwrap_or_default();
    match keypath.first().map(String::as_str) {
        Some("models" | "seeds" | "snapshots" | "analyses" | "unit_tests") => entry_rule(rel),
        Some("sources") => match rel.first().map(String::as_str) {
            Some("description") => true,
            Some("tables") => entry_rule(rel.get(2..).unwrap_or_default()),
            _ => false,
        },
        Some("version") => false,
        _ => keypath.len() == 1,
    }
}

/// The value of a `- name: x`, `name: x` or `- name: "x"` line, unquoted
/// and without a trailing comment; `None` for any other line.
fn name_value(line: &str) -> Option<&str> {
    let t = line.trim_start().trim_start_matches('-').trim_start();
    let v = t.strip_prefix("name:")?;
    let v = v.split(" #").next().unwrap_or(v).trim();
    Some(v.trim_matches(|c| c == '"' || c == '\''))
}

/// Every `- name: <name>` line of `text` (the schema file at `path`) at the
/// indentation of the first, in file order, each located at the name: the
/// entries a YAML file gives one node (a duplicate is the second).
pub fn locate_entries(path: &Path, text: &str, name: &str) -> Vec<Location> {
    let mut indent_of_first = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if !t.starts_with('-') || !name_value(line).is_some_and(|v| v.eq_ignore_ascii_case(name)) {
            continue;
        }
        let indent = line.len() - t.len();
        if *indent_of_first.get_or_insert(indent) == indent {
            let col = line.rfind(name).map_or(indent, |c| c) + 1;
            out.push(Location::new(path, i + 1, col, Some(text)));
        }
    }
    out
}

/// Where model `model`'s YAML entry (or its column `column`, or that
/// column's `key:` line such as `data_type`) is in `text`, the schema file
/// at `path`: the line of `- name: <model>` / `- name: <column>` /
/// `<key>:`, with the caret on the value. `None` when not found.
pub fn locate_in_yaml(
    path: &Path,
    text: &str,
    model: &str,
    column: Option<&str>,
    key: Option<&str>,
) -> Option<Location> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let at = |i: usize, needle: &str| {
        let l = lines[i];
        let col = l.rfind(needle).map_or(indent(l), |c| c) + 1;
        Location::new(path, i + 1, col, Some(text))
    };
    let start = lines
        .iter()
        .position(|l| name_value(l).is_some_and(|n| n.eq_ignore_ascii_case(model)))?;
    let model_indent = indent(lines[start]);
    let entry_end = (start + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            !l.trim().is_empty()
                && !l.trim_start().starts_with('#')
                && indent(l) <= model_indent
                && (l.trim_start().starts_with('-') || indent(l) < model_indent)
        })
        .unwrap_or(lines.len());
    let Some(column) = column else {
        return Some(at(start, model));
    };
    let col_line = (start + 1..entry_end)
        .find(|&i| name_value(lines[i]).is_some_and(|n| n.eq_ignore_ascii_case(column)))?;
    let Some(key) = key else {
        return Some(at(col_line, column));
    };
    let col_indent = indent(lines[col_line]);
    let key_line = (col_line + 1..entry_end)
        .take_while(|&i| {
            let l = lines[i];
            l.trim().is_empty() || indent(l) > col_indent
        })
        .find(|&i| lines[i].trim_start().starts_with(&format!("{key}:")));
    Some(match key_line {
        Some(i) => {
            let l = lines[i];
            let value_at = l.find(':').map_or(indent(l), |c| {
                c + 1 + (l[c + 1..].len() - l[c + 1..].trim_start().len())
            });
            Location::new(path, i + 1, value_at + 1, Some(text))
        }
        None => at(col_line, column),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_yaml_keypaths_render_as_dbt_should_render_keypath() {
        let path = |p: &str| p.split('.').map(str::to_owned).collect::<Vec<_>>();
        // Rendered on read: types, configs, a source's schema.
        for rendered in [
            "models.0.columns.1.data_type",
            "seeds.0.config.column_types.amount",
            "sources.0.schema",
            "sources.0.tables.2.identifier",
        ] {
            assert!(!unrendered_keypath(&path(rendered)), "{rendered}");
        }
        // Left as written: descriptions, tests, hooks, versions, and
        // sections sluice does not read.
        for kept in [
            "models.0.description",
            "models.0.columns.1.description",
            "models.0.columns.1.data_tests",
            "models.0.data_tests",
            "models.0.config.post_hook",
            "models.0.versions",
            "sources.0.description",
            "sources.0.tables.2.description",
            "sources.0.tables.2.columns.0.tests",
            "exposures",
        ] {
            assert!(unrendered_keypath(&path(kept)), "{kept}");
        }
    }

    #[test]
    fn yaml_locations_point_at_the_column_and_its_type() {
        let text = "models:\n  - name: other\n    columns:\n      - name: id\n  - name: orders\n    columns:\n      - name: id\n        data_type: int\n";
        let p = Path::new("models/schema.yml");
        let loc = locate_in_yaml(p, text, "orders", None, None).unwrap();
        assert_eq!((loc.line, loc.col), (5, 11));
        let loc = locate_in_yaml(p, text, "orders", Some("id"), None).unwrap();
        assert_eq!((loc.line, loc.col), (7, 15));
        let loc = locate_in_yaml(p, text, "orders", Some("id"), Some("data_type")).unwrap();
        assert_eq!((loc.line, loc.col), (8, 20));
        assert!(locate_in_yaml(p, text, "orders", Some("nope"), None).is_none());
    }
}
