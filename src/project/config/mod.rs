//! Node configs and how they combine, as dbt does.
//!
//! A node's config comes from three layers, later winning: the `models:` /
//! `seeds:` / `data_tests:` tree of dbt_project.yml (folder-level, deeper
//! folders win), the `config:` block of the node's schema YAML entry, and the
//! `{{ config(...) }}` call in the node's own file. As in dbt, `tags` add up
//! across layers and `meta` dicts merge key by key; every other key is
//! replaced by the later layer.

use serde_json::Value as Json;

pub mod build_after;
mod materialization;
pub mod microbatch;
mod node_config;
mod snapshot;

pub use materialization::Materialization;
pub use node_config::{as_string_list, normalize_key, Config};
pub use snapshot::{CheckCols, SnapshotConfig, SnapshotStrategy};

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
