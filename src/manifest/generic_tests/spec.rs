//! One entry of a YAML `data_tests:` list, normalised into a [`TestSpec`]:
//! the test's name and namespace, its arguments and its config, in either
//! of dbt's forms (arguments beside the config keys, or under `arguments:`
//! and `config:`).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::project::config::{yaml_to_json, Config};

/// Config keys that may sit directly in a test entry, as dbt's `TestBuilder.CONFIG_ARGS`.
const CONFIG_ARGS: &[&str] = &[
    "severity",
    "tags",
    "enabled",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "meta",
    "database",
    "schema",
    "alias",
];

/// One test entry of a YAML `data_tests:` list, normalised.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TestSpec {
    pub(super) namespace: Option<String>,
    pub(super) name: String,
    pub(super) custom_name: Option<String>,
    pub(super) column_name: Option<String>,
    pub(super) args: BTreeMap<String, Json>,
    pub(super) config: Config,
}

pub(super) fn parse_entry(
    entry: &serde_yaml::Value,
    column: Option<&str>,
) -> std::result::Result<TestSpec, String> {
    let (full_name, body) = match entry {
        serde_yaml::Value::String(s) => (s.clone(), serde_yaml::Value::Null),
        serde_yaml::Value::Mapping(map) if map.contains_key("test_name") => {
            let name = map.get("test_name").and_then(|v| v.as_str()).ok_or("`test_name` must be a string")?;
            (name.to_owned(), entry.clone())
        }
        serde_yaml::Value::Mapping(map) if map.len() == 1 => {
            let (k, v) = map.iter().next().expect("one entry");
            (k.as_str().ok_or("a test name must be a string")?.to_owned(), v.clone())
        }
        _ => return Err("a test must be a name (`- not_null`) or a one-key mapping (`- accepted_values: {...}`)".into()),
    };
    let (namespace, name) = match full_name.split_once('.') {
        Some((ns, n)) => (Some(ns.to_owned()), n.to_owned()),
        None => (None, full_name.clone()),
    };
    let mut spec = TestSpec {
        namespace,
        name,
        custom_name: None,
        column_name: column.map(str::to_owned),
        args: BTreeMap::new(),
        config: Config::default(),
    };
    if let Some(map) = body.as_mapping() {
        for (k, v) in map {
            let Some(k) = k.as_str() else { continue };
            match k {
                "test_name" => {}
                "name" => spec.custom_name = v.as_str().map(str::to_owned),
                "description" => {}
                "column_name" => spec.column_name = v.as_str().map(str::to_owned),
                "config" => {
                    if let Some(cfg) = v.as_mapping() {
                        for (ck, cv) in cfg {
                            if let Some(ck) = ck.as_str() {
                                spec.config.set(ck, yaml_to_json(cv));
                            }
                        }
                    }
                }
                "arguments" => {
                    if let Some(args) = v.as_mapping() {
                        for (ak, av) in args {
                            if let Some(ak) = ak.as_str() {
                                spec.args.insert(ak.to_owned(), yaml_to_json(av));
                            }
                        }
                    }
                }
                _ if CONFIG_ARGS.contains(&k) => spec.config.set(k, yaml_to_json(v)),
                _ => {
                    spec.args.insert(k.to_owned(), yaml_to_json(v));
                }
            }
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_argument_forms() {
        let legacy: serde_yaml::Value =
            serde_yaml::from_str("accepted_values: {values: [a, b], severity: warn, quote: false}")
                .unwrap();
        let modern: serde_yaml::Value =
            serde_yaml::from_str("accepted_values: {arguments: {values: [a, b], quote: false}, config: {severity: warn}}").unwrap();
        let a = parse_entry(&legacy, Some("status")).unwrap();
        let b = parse_entry(&modern, Some("status")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.config.get_str("severity").as_deref(), Some("warn"));
        assert_eq!(a.args.len(), 2);
    }

    #[test]
    fn namespaced_and_custom_named_tests() {
        let e: serde_yaml::Value = serde_yaml::from_str(
            "dbt_utils.expression_is_true: {name: my_check, expression: 'a > 0'}",
        )
        .unwrap();
        let s = parse_entry(&e, None).unwrap();
        assert_eq!(s.namespace.as_deref(), Some("dbt_utils"));
        assert_eq!(s.name, "expression_is_true");
        assert_eq!(s.custom_name.as_deref(), Some("my_check"));
    }
}
