//! A node's config: the merged map of every layer, with dbt's merge
//! rules (tags add up, meta merges key by key, hooks from every layer run)
//! and typed reads of the keys sluice acts on.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::materialization::Materialization;

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
                // As dbt's `merge_freshness`: a table's thresholds merge into
                // its source's one level deep (a table's `warn_after` keeps
                // the source's `error_after`); `freshness: null` turns it off.
                "freshness" if value.is_object() => {
                    let mut merged = self
                        .0
                        .get(key)
                        .and_then(Json::as_object)
                        .cloned()
                        .unwrap_or_default();
                    for (k, v) in value.as_object().into_iter().flatten() {
                        match (merged.get_mut(k), v) {
                            (Some(Json::Object(base)), Json::Object(update)) => {
                                for (field, x) in update {
                                    if !x.is_null() {
                                        base.insert(field.clone(), x.clone());
                                    }
                                }
                            }
                            (_, Json::Null) if k == "filter" => {}
                            _ => {
                                merged.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    self.0.insert(key.clone(), Json::Object(merged));
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
