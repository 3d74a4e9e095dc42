//! Node configs and how they combine, as dbt does.
//!
//! A node's config comes from three layers, later winning: the `models:` /
//! `seeds:` / `data_tests:` tree of dbt_project.yml (folder-level, deeper
//! folders win), the `config:` block of the node's schema YAML entry, and the
//! `{{ config(...) }}` call in the node's own file. As in dbt, `tags` add up
//! across layers and `meta` dicts merge key by key; every other key is
//! replaced by the later layer.

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// Config keys dbt accepts without a `+` prefix inside the dbt_project.yml
/// tree. Any other key without `+` is a folder or node name.
const KNOWN_KEYS: &[&str] = &[
    "materialized",
    "schema",
    "database",
    "alias",
    "tags",
    "enabled",
    "meta",
    "docs",
    "persist_docs",
    "full_refresh",
    "column_types",
    "delimiter",
    "quote_columns",
    "severity",
    "where",
    "warn_if",
    "error_if",
    "store_failures",
    "limit",
    "fail_calc",
    "pre-hook",
    "post-hook",
    "pre_hook",
    "post_hook",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "contract",
    "grants",
    "group",
    "access",
];

/// A node's resolved config: config name to JSON value, sorted by name.
///
/// Keys are normalised (`+` stripped, `pre_hook` spelled `pre-hook` as in
/// dbt's manifest).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Config(pub BTreeMap<String, Json>);

impl Config {
    /// Applies `layer` on top of `self` with dbt's merge rules: `tags` are
    /// appended (deduplicated, order kept), `meta` is merged key by key, every
    /// other key is replaced.
    pub fn merge(&mut self, layer: &Config) {
        for (key, value) in &layer.0 {
            match key.as_str() {
                // Values are kept as written (a number stays a number), so
                // that the manifest's config check can reject them.
                "tags" => {
                    let mut tags: Vec<Json> = match self.0.get(key) {
                        Some(Json::Array(a)) => a.clone(),
                        Some(Json::Null) | None => Vec::new(),
                        Some(other) => vec![other.clone()],
                    };
                    let layer_tags = match value {
                        Json::Array(a) => a.clone(),
                        Json::Null => Vec::new(),
                        other => vec![other.clone()],
                    };
                    for tag in layer_tags {
                        if !tags.contains(&tag) {
                            tags.push(tag);
                        }
                    }
                    self.0.insert(key.clone(), Json::Array(tags));
                }
                // As dbt: hooks from every layer run, project-level ones first.
                "pre-hook" | "post-hook" => {
                    let mut hooks: Vec<Json> = match self.0.get(key) {
                        Some(Json::Array(a)) => a.clone(),
                        Some(Json::Null) | None => Vec::new(),
                        Some(other) => vec![other.clone()],
                    };
                    match value {
                        Json::Array(a) => hooks.extend(a.iter().cloned()),
                        Json::Null => {}
                        other => hooks.push(other.clone()),
                    }
                    self.0.insert(key.clone(), Json::Array(hooks));
                }
                // `contract` merges key by key too (dbt's MergeBehavior.Update).
                "meta" | "docs" | "contract" if key != "contract" || value.is_object() => {
                    let mut merged = self
                        .0
                        .get(key)
                        .and_then(Json::as_object)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(obj) = value.as_object() {
                        merged.extend(obj.clone());
                    }
                    self.0.insert(key.clone(), Json::Object(merged));
                }
                _ => {
                    self.0.insert(key.clone(), value.clone());
                }
            }
        }
    }

    /// Sets one key, normalising its name; `tags` and `meta` merge as in
    /// [`Config::merge`].
    pub fn set(&mut self, key: &str, value: Json) {
        let mut layer = Config::default();
        layer.0.insert(normalize_key(key), value);
        self.merge(&layer);
    }

    /// The raw value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0.get(key)
    }

    /// `key` as a string, if it is set to a string (numbers and bools are
    /// shown as text, as YAML users write `severity: warn` or `limit: 10`).
    pub fn get_str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Json::String(s) => Some(s.clone()),
            Json::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// `key` as a bool: YAML booleans, and the strings `true`/`false`.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            Json::Bool(b) => Some(*b),
            Json::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The materialization's name (`view` when unset, as dbt's default for
    /// models), for messages; compare with [`Config::materialization`].
    pub fn materialized(&self) -> String {
        self.get_str("materialized")
            .unwrap_or_else(|| "view".to_owned())
    }

    /// The materialization, typed (`view` when unset).
    pub fn materialization(&self) -> Materialization {
        match self.get_str("materialized") {
            Some(name) => Materialization::parse(&name),
            None => Materialization::View,
        }
    }

    /// Whether the node is an ephemeral model's config (`materialized: ephemeral`).
    pub fn is_ephemeral(&self) -> bool {
        self.materialization() == Materialization::Ephemeral
    }

    /// Whether the node is enabled (`true` unless `enabled: false`).
    pub fn enabled(&self) -> bool {
        self.get_bool("enabled").unwrap_or(true)
    }

    /// The SQL of the node's `pre-hook` or `post-hook` config (`key`), in run
    /// order. A hook is a string, or a mapping with `sql:` (dbt's long form).
    pub fn hooks(&self, key: &str) -> Vec<String> {
        let hook_sql = |v: &Json| match v {
            Json::String(s) => Some(s.clone()),
            Json::Object(o) => o.get("sql").and_then(Json::as_str).map(str::to_owned),
            _ => None,
        };
        match self.0.get(key) {
            Some(Json::Array(items)) => items.iter().filter_map(hook_sql).collect(),
            Some(other) => hook_sql(other).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The node's tags, in the order they were added.
    pub fn tags(&self) -> Vec<String> {
        self.0.get("tags").map(as_string_list).unwrap_or_default()
    }
}

/// A string or a list of strings as a list (dbt accepts `tags: x` and `tags: [x, y]`).
pub fn as_string_list(value: &Json) -> Vec<String> {
    match value {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) => items
            .iter()
            .filter_map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| (!v.is_null()).then(|| v.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `+materialized` -> `materialized`, `pre_hook` -> `pre-hook`.
pub fn normalize_key(key: &str) -> String {
    let key = key.strip_prefix('+').unwrap_or(key);
    match key {
        "pre_hook" => "pre-hook".to_owned(),
        "post_hook" => "post-hook".to_owned(),
        _ => key.to_owned(),
    }
}

/// Converts a YAML value into JSON (YAML's non-string map keys become strings).
pub fn yaml_to_json(value: &serde_yaml::Value) -> Json {
    match value {
        serde_yaml::Value::Null => Json::Null,
        serde_yaml::Value::Bool(b) => Json::Bool(*b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64().map_or(Json::Null, Json::from)
            }
        }
        serde_yaml::Value::String(s) => Json::String(s.clone()),
        serde_yaml::Value::Sequence(items) => Json::Array(items.iter().map(yaml_to_json).collect()),
        serde_yaml::Value::Mapping(map) => Json::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        serde_yaml::Value::String(s) => s.clone(),
                        other => yaml_to_json(other).to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        serde_yaml::Value::Tagged(tagged) => yaml_to_json(&tagged.value),
    }
}

/// Reads a flat config mapping (a schema YAML `config:` block): every key is
/// a config key, `+` prefixes allowed.
pub fn config_from_yaml_map(value: &serde_yaml::Value) -> Config {
    let mut config = Config::default();
    if let Some(map) = value.as_mapping() {
        for (k, v) in map {
            if let Some(k) = k.as_str() {
                config.set(k, yaml_to_json(v));
            }
        }
    }
    config
}

/// A dbt_project.yml config tree (`models:`, `seeds:`, `data_tests:`),
/// resolved for one node by its fqn.
#[derive(Debug, Clone, Default)]
pub struct ConfigTree {
    root: Option<serde_yaml::Value>,
}

impl ConfigTree {
    /// Wraps the YAML value under `models:` (or `seeds:`, ...); `None` when the key is absent.
    pub fn new(root: Option<serde_yaml::Value>) -> Self {
        ConfigTree { root }
    }

    /// The config for a node with this `fqn` (`[package, folder..., name]`):
    /// the configs met walking down the tree, deeper levels winning, as dbt's
    /// folder-level inheritance.
    pub fn resolve(&self, fqn: &[String]) -> Config {
        let mut config = Config::default();
        let Some(mut level) = self.root.as_ref() else {
            return config;
        };
        apply_level(&mut config, level);
        for part in fqn {
            match level.as_mapping().and_then(|m| m.get(part.as_str())) {
                Some(next) if next.is_mapping() => {
                    level = next;
                    apply_level(&mut config, level);
                }
                _ => break,
            }
        }
        config
    }
}

fn apply_level(config: &mut Config, level: &serde_yaml::Value) {
    let Some(map) = level.as_mapping() else {
        return;
    };
    let mut layer = Config::default();
    for (k, v) in map {
        let Some(k) = k.as_str() else { continue };
        // A known key holding a mapping is a folder of that name, unless the
        // config itself is a mapping (`meta`, `column_types`, ...).
        let map_valued = matches!(
            k,
            "meta" | "docs" | "column_types" | "persist_docs" | "contract" | "grants"
        );
        let is_config =
            k.starts_with('+') || (KNOWN_KEYS.contains(&k) && (map_valued || !v.is_mapping()));
        if is_config {
            layer.0.insert(normalize_key(k), yaml_to_json(v));
        }
    }
    config.merge(&layer);
}

/// A model's `materialized` config, as dbt names the built-in ones; any
/// other name is a custom materialization (`{% materialization %}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Materialization {
    /// `view` (dbt's default for models).
    View,
    /// `table`.
    Table,
    /// `incremental`.
    Incremental,
    /// `ephemeral`: inlined as a CTE, never built.
    Ephemeral,
    /// `external`: a file written by dbt-duckdb's materialization.
    External,
    /// `seed` (what seeds are materialized as).
    Seed,
    /// `snapshot` (what snapshots are materialized as).
    Snapshot,
    /// Any other name.
    Custom(String),
}

impl Materialization {
    /// The materialization called `name` (dbt's names).
    pub fn parse(name: &str) -> Materialization {
        match name {
            "view" => Materialization::View,
            "table" => Materialization::Table,
            "incremental" => Materialization::Incremental,
            "ephemeral" => Materialization::Ephemeral,
            "external" => Materialization::External,
            "seed" => Materialization::Seed,
            "snapshot" => Materialization::Snapshot,
            other => Materialization::Custom(other.to_owned()),
        }
    }

    /// dbt's name for it (`view`, `table`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Materialization::View => "view",
            Materialization::Table => "table",
            Materialization::Incremental => "incremental",
            Materialization::Ephemeral => "ephemeral",
            Materialization::External => "external",
            Materialization::Seed => "seed",
            Materialization::Snapshot => "snapshot",
            Materialization::Custom(name) => name,
        }
    }
}

/// A snapshot's `strategy`, as dbt's (plus `type1`, sluice's SCD Type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStrategy {
    /// A row changed when its `updated_at` did.
    Timestamp,
    /// A row changed when any of its `check_cols` did.
    Check,
    /// SCD Type 1: one row per key, overwritten in place.
    Type1,
}

/// A snapshot's `check_cols`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckCols {
    /// `'all'`: every column of the snapshot's select.
    All,
    /// The listed columns.
    Columns(Vec<String>),
}

/// A snapshot's config, checked when the project is parsed (as dbt's
/// `SnapshotConfig` validation), so a mistake stops the command with exit 2
/// before any database is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotConfig {
    /// `strategy`.
    pub strategy: SnapshotStrategy,
    /// `unique_key` as a SQL expression: the column or expression, or
    /// `row(a, b)` for a list.
    pub unique_key: String,
    /// `hard_deletes` (or the older `invalidate_hard_deletes: true`):
    /// `ignore`, `invalidate` or `new_record` (`ignore` or `delete` for type1).
    pub hard_deletes: String,
    /// `updated_at` (required by the timestamp strategy).
    pub updated_at: Option<String>,
    /// `check_cols` (required by the check strategy).
    pub check_cols: Option<CheckCols>,
}

impl SnapshotConfig {
    /// Reads and checks the snapshot config in `config`.
    ///
    /// Errors: `(message, hint)` for a missing or unknown `strategy`, a
    /// missing `unique_key`, a bad `hard_deletes`, the timestamp strategy
    /// without `updated_at`, or the check strategy without `check_cols`.
    pub fn of(config: &Config) -> std::result::Result<SnapshotConfig, (String, String)> {
        let strategy = config.get_str("strategy").unwrap_or_default();
        let strategy = match strategy.as_str() {
            "timestamp" => SnapshotStrategy::Timestamp,
            "check" => SnapshotStrategy::Check,
            "type1" => SnapshotStrategy::Type1,
            other => return Err((
                if other.is_empty() {
                    "no `strategy` is set".to_owned()
                } else {
                    format!("unknown strategy `{other}`")
                },
                "set strategy='timestamp' (with updated_at), 'check' (with check_cols) or 'type1'"
                    .to_owned(),
            )),
        };
        let type1 = strategy == SnapshotStrategy::Type1;
        let unique_key = match config.get("unique_key") {
            Some(Json::String(k)) if !k.trim().is_empty() => k.clone(),
            Some(Json::Array(ks)) if !ks.is_empty() => format!(
                "row({})",
                ks.iter()
                    .map(|k| k
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| k.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => {
                return Err((
                    "no `unique_key` is set".to_owned(),
                    "set unique_key to a column, an expression, or a list of columns".to_owned(),
                ))
            }
        };
        let hard_deletes = match config.get_str("hard_deletes") {
            Some(h) => h,
            None if config.get_bool("invalidate_hard_deletes") == Some(true) => "invalidate".into(),
            None => "ignore".into(),
        };
        let allowed: &[&str] = if type1 {
            &["ignore", "delete"]
        } else {
            &["ignore", "invalidate", "new_record"]
        };
        if !allowed.contains(&hard_deletes.as_str()) {
            return Err((
                format!(
                    "hard_deletes `{hard_deletes}` is not one of {}",
                    allowed.join(", ")
                ),
                if type1 {
                    "a type1 snapshot keeps one row per key: `ignore` keeps deleted keys, `delete` removes them"
                } else {
                    "use ignore, invalidate or new_record"
                }
                .to_owned(),
            ));
        }
        let updated_at = config.get_str("updated_at");
        if strategy == SnapshotStrategy::Timestamp && updated_at.is_none() {
            return Err((
                "the timestamp strategy needs `updated_at`".to_owned(),
                "set updated_at to the column that changes when a row changes".to_owned(),
            ));
        }
        let check_cols = match config.get("check_cols") {
            Some(Json::Array(cols)) => Some(CheckCols::Columns(
                cols.iter()
                    .map(|c| c.as_str().unwrap_or_default().to_owned())
                    .collect(),
            )),
            Some(Json::String(s)) if s == "all" => Some(CheckCols::All),
            None if type1 => Some(CheckCols::All),
            _ if strategy == SnapshotStrategy::Check => {
                return Err((
                    "the check strategy needs `check_cols`".to_owned(),
                    "set check_cols to a list of columns, or 'all'".to_owned(),
                ))
            }
            _ => None,
        };
        Ok(SnapshotConfig {
            strategy,
            unique_key,
            hard_deletes,
            updated_at,
            check_cols,
        })
    }
}

/// A model's `contract` config (dbt's `ContractConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// `enforced`: check the columns and apply the constraints (default false).
    pub enforced: bool,
    /// `alias_types`: let the adapter translate type aliases (default true).
    pub alias_types: bool,
}

impl Contract {
    /// The contract of a node with `config`: `contract: {enforced: true}`
    /// from YAML, dbt_project.yml (`+contract`) or `config(contract=...)`.
    /// A bare `contract: true` is read as enforced; anything unreadable is
    /// not enforced.
    pub fn of(config: &Config) -> Contract {
        let flag = |v: Option<&Json>, default: bool| match v {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => default,
        };
        match config.get("contract") {
            Some(Json::Object(c)) => Contract {
                enforced: flag(c.get("enforced"), false),
                alias_types: flag(c.get("alias_types"), true),
            },
            Some(Json::Bool(b)) => Contract {
                enforced: *b,
                alias_types: true,
            },
            _ => Contract {
                enforced: false,
                alias_types: true,
            },
        }
    }

    /// The `contract` object of a manifest.json node, in dbt's shape:
    /// `{"enforced": .., "alias_types": .., "checksum": null}`.
    pub fn manifest_json(self) -> Json {
        serde_json::json!({
            "enforced": self.enforced,
            "alias_types": self.alias_types,
            "checksum": null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Json)]) -> Config {
        Config(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn materializations_are_typed_with_views_by_default() {
        assert_eq!(Config::default().materialization(), Materialization::View);
        let c = config(&[("materialized", Json::from("ephemeral"))]);
        assert!(c.is_ephemeral());
        let c = config(&[("materialized", Json::from("my_mat"))]);
        assert_eq!(
            c.materialization(),
            Materialization::Custom("my_mat".into())
        );
        assert_eq!(c.materialization().as_str(), "my_mat");
    }

    /// Pins the checks of dbt's snapshot config validation.
    #[test]
    fn snapshot_configs_are_checked() {
        let err = |pairs: &[(&str, Json)]| SnapshotConfig::of(&config(pairs)).unwrap_err().0;
        assert_eq!(err(&[]), "no `strategy` is set");
        assert_eq!(
            err(&[("strategy", Json::from("nope"))]),
            "unknown strategy `nope`"
        );
        assert_eq!(
            err(&[("strategy", Json::from("check"))]),
            "no `unique_key` is set"
        );
        let key = ("unique_key", Json::from("id"));
        assert_eq!(
            err(&[("strategy", Json::from("timestamp")), key.clone()]),
            "the timestamp strategy needs `updated_at`"
        );
        assert_eq!(
            err(&[("strategy", Json::from("check")), key.clone()]),
            "the check strategy needs `check_cols`"
        );
        assert_eq!(
            err(&[
                ("strategy", Json::from("type1")),
                key.clone(),
                ("hard_deletes", Json::from("invalidate"))
            ]),
            "hard_deletes `invalidate` is not one of ignore, delete"
        );
        let ok = SnapshotConfig::of(&config(&[
            ("strategy", Json::from("check")),
            ("unique_key", serde_json::json!(["a", "b"])),
            ("check_cols", Json::from("all")),
        ]))
        .unwrap();
        assert_eq!(ok.unique_key, "row(a, b)");
        assert_eq!(ok.check_cols, Some(CheckCols::All));
        assert_eq!(ok.hard_deletes, "ignore");
    }

    fn tree(yaml: &str) -> ConfigTree {
        ConfigTree::new(Some(serde_yaml::from_str(yaml).unwrap()))
    }

    fn fqn(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deeper_folders_win_and_tags_add_up() {
        // Pins dbt's folder-level inheritance: `staging:` overrides the project
        // default, and tags from every level are combined.
        let t = tree(
            "shop:\n  +materialized: table\n  +tags: [a]\n  staging:\n    +materialized: view\n    +tags: b\n",
        );
        let c = t.resolve(&fqn(&["shop", "staging", "stg_orders"]));
        assert_eq!(c.materialized(), "view");
        assert_eq!(c.tags(), vec!["a", "b"]);
        let c = t.resolve(&fqn(&["shop", "marts", "orders"]));
        assert_eq!(c.materialized(), "table");
        assert_eq!(c.tags(), vec!["a"]);
    }

    #[test]
    fn keys_without_plus_are_configs_only_when_known() {
        let t =
            tree("shop:\n  materialized: table\n  marts:\n    schema: marts\n    enabled: false\n");
        let c = t.resolve(&fqn(&["shop", "marts", "orders"]));
        assert_eq!(c.materialized(), "table");
        assert_eq!(c.get_str("schema").as_deref(), Some("marts"));
        assert!(!c.enabled());
    }

    #[test]
    fn hooks_from_every_layer_run_in_order() {
        // Pins dbt's hook config: hooks accumulate across layers instead of replacing.
        let mut c = tree("shop:\n  +post-hook: \"grant 1\"\n").resolve(&fqn(&["shop", "m"]));
        c.set(
            "post_hook",
            serde_json::json!(["grant 2", {"sql": "grant 3"}]),
        );
        assert_eq!(c.hooks("post-hook"), ["grant 1", "grant 2", "grant 3"]);
        assert!(c.hooks("pre-hook").is_empty());
    }

    #[test]
    fn meta_merges_and_model_level_config_applies() {
        let t = tree("shop:\n  +meta: {owner: a, team: x}\n  orders:\n    +meta: {owner: b}\n");
        let c = t.resolve(&fqn(&["shop", "orders"]));
        assert_eq!(
            c.get("meta").unwrap(),
            &serde_json::json!({"owner": "b", "team": "x"})
        );
    }
}
