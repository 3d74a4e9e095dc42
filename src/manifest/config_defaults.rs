//! dbt's node config defaults, for the `config` of a node's manifest.json
//! entry and its `graph` entry: dbt writes every field of a resource's
//! config class (`NodeConfig`, `ModelConfig`, `SeedConfig`, `TestConfig`,
//! `SnapshotConfig` in dbt-core 1.10+), set or not, and packages read them
//! (`node.config.enabled`, `node.config.on_schema_change`, ...).

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::manifest::node::ResourceType;

/// `config` with every key dbt's config class for `resource_type` has and
/// `config` lacks, at dbt's default. Keys already set are kept as they are.
pub fn with_dbt_defaults(
    resource_type: ResourceType,
    config: &BTreeMap<String, Json>,
) -> BTreeMap<String, Json> {
    let mut out = config.clone();
    let mut default = |key: &str, value: Json| {
        out.entry(key.to_owned()).or_insert(value);
    };
    default("enabled", json!(true));
    default("tags", json!([]));
    default("meta", json!({}));
    match resource_type {
        // SourceConfig and UnitTestConfig.
        ResourceType::Source => {
            default("event_time", Json::Null);
            default("freshness", Json::Null);
            default("loaded_at_field", Json::Null);
            default("loaded_at_query", Json::Null);
            return out;
        }
        ResourceType::UnitTest => return out,
        _ => {}
    }
    default("alias", Json::Null);
    default("database", Json::Null);
    default("group", Json::Null);
    if resource_type == ResourceType::Test {
        // TestConfig.
        default("schema", json!("dbt_test__audit"));
        default("materialized", json!("test"));
        default("severity", json!("ERROR"));
        default("store_failures", Json::Null);
        default("store_failures_as", Json::Null);
        default("where", Json::Null);
        default("limit", Json::Null);
        default("fail_calc", json!("count(*)"));
        default("warn_if", json!("!= 0"));
        default("error_if", json!("!= 0"));
        return out;
    }
    // NodeConfig.
    default("schema", Json::Null);
    default(
        "materialized",
        json!(match resource_type {
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            _ => "view",
        }),
    );
    default("incremental_strategy", Json::Null);
    default("batch_size", Json::Null);
    default("lookback", json!(1));
    default("begin", Json::Null);
    default("persist_docs", json!({}));
    default("post-hook", json!([]));
    default("pre-hook", json!([]));
    default("quoting", json!({}));
    default("column_types", json!({}));
    default("full_refresh", Json::Null);
    default("unique_key", Json::Null);
    default("on_schema_change", json!("ignore"));
    default("on_configuration_change", json!("apply"));
    default("grants", json!({}));
    default("packages", json!([]));
    default("docs", json!({"show": true, "node_color": null}));
    default("contract", json!({"enforced": false, "alias_types": true}));
    default("event_time", Json::Null);
    default("concurrent_batches", Json::Null);
    match resource_type {
        ResourceType::Model => default("access", json!("protected")),
        ResourceType::Seed => {
            default("delimiter", json!(","));
            default("quote_columns", Json::Null);
        }
        ResourceType::Snapshot => {
            default("strategy", Json::Null);
            default("target_schema", Json::Null);
            default("target_database", Json::Null);
            default("updated_at", Json::Null);
            default("check_cols", Json::Null);
            default("dbt_valid_to_current", Json::Null);
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keys_win_and_missing_ones_get_dbt_defaults() {
        let mut config = BTreeMap::new();
        config.insert("materialized".to_owned(), json!("table"));
        let model = with_dbt_defaults(ResourceType::Model, &config);
        assert_eq!(model["materialized"], json!("table"));
        assert_eq!(model["enabled"], json!(true));
        assert_eq!(model["on_schema_change"], json!("ignore"));
        assert_eq!(model["access"], json!("protected"));
        let seed = with_dbt_defaults(ResourceType::Seed, &BTreeMap::new());
        assert_eq!(seed["materialized"], json!("seed"));
        assert_eq!(seed["delimiter"], json!(","));
        let test = with_dbt_defaults(ResourceType::Test, &BTreeMap::new());
        assert_eq!(test["severity"], json!("ERROR"));
        assert_eq!(test["schema"], json!("dbt_test__audit"));
    }
}
