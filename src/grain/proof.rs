//! Proven data tests: a `unique`, `not_null` or
//! `unique_combination_of_columns` test that the tested model's inferred
//! [`Grain`] implies. A proof rests on the model's SQL and on what is
//! declared upstream (each step in the key's or column's reason); it never
//! rests on the tested model's own tests.

use serde::Serialize;

use crate::grain::types::Grain;
use crate::manifest::{Node, ResourceType, TestMetadata};

/// Why a data test is known to pass without running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proof {
    /// The proof in words: the key or not-null column and its reason.
    pub reason: String,
}

/// The proof of `test` (a generic data test) by `grain`, the inferred
/// grain of the node it tests, if the grain implies it:
/// - `unique` on `c`: a key within `{c}` (a key of no columns: at most one row);
/// - `not_null` on `c`: `c` is never NULL;
/// - `unique_combination_of_columns`: a key within the columns that holds
///   with NULLs (the test groups NULLs together).
///
/// A `where` on the test only removes rows, so it keeps the proof.
pub fn prove(test: &Node, grain: &Grain) -> Option<Proof> {
    if test.resource_type != ResourceType::Test {
        return None;
    }
    prove_test(test.test_metadata.as_ref()?, grain)
}

fn prove_test(meta: &TestMetadata, grain: &Grain) -> Option<Proof> {
    if meta
        .namespace
        .as_deref()
        .is_some_and(|n| n != "dbt_utils" && n != "dbt")
    {
        return None;
    }
    let column = meta
        .column_name
        .as_deref()
        .or_else(|| meta.kwargs.get("column_name").and_then(|v| v.as_str()))
        .map(|c| c.trim_matches('"').to_lowercase());
    match (meta.name.as_str(), column) {
        ("unique", Some(c)) => grain
            .key_within(std::slice::from_ref(&c), false)
            .map(|k| Proof {
                reason: if k.columns.is_empty() {
                    format!("at most one row: {}", k.reason)
                } else {
                    format!("`{c}` is a key: {}", k.reason)
                },
            }),
        ("not_null", Some(c)) => grain.not_null_reason(&c).map(|why| Proof {
            reason: format!("`{c}` is never NULL: {why}"),
        }),
        ("unique_combination_of_columns", _) => {
            let columns: Vec<String> = meta
                .kwargs
                .get("combination_of_columns")?
                .as_array()?
                .iter()
                .map(|v| v.as_str().map(|s| s.trim_matches('"').to_lowercase()))
                .collect::<Option<_>>()?;
            grain.key_within(&columns, true).map(|k| Proof {
                reason: format!("`{}` is a key: {}", k.columns.join(", "), k.reason),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::prove_test;
    use crate::grain::types::{Grain, Key, NotNull};
    use crate::manifest::TestMetadata;

    fn test(name: &str, namespace: Option<&str>, kwargs: serde_json::Value) -> TestMetadata {
        TestMetadata {
            name: name.into(),
            namespace: namespace.map(str::to_owned),
            kwargs: kwargs.as_object().cloned().unwrap_or_default(),
            column_name: None,
            attached_node: None,
        }
    }

    fn grain(keys: &[(&[&str], bool)], not_null: &[&str]) -> Grain {
        Grain {
            keys: keys
                .iter()
                .map(|(cols, with_nulls)| Key {
                    columns: cols.iter().map(|c| c.to_string()).collect(),
                    with_nulls: *with_nulls,
                    reason: "r".into(),
                })
                .collect(),
            not_null: not_null
                .iter()
                .map(|c| NotNull {
                    column: c.to_string(),
                    reason: "r".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn unique_needs_a_key_within_the_column() {
        let unique = test("unique", None, serde_json::json!({"column_name": "ID"}));
        assert!(prove_test(&unique, &grain(&[(&["id"], false)], &[])).is_some());
        // A key of two columns does not make one of them unique.
        assert!(prove_test(&unique, &grain(&[(&["id", "day"], true)], &[])).is_none());
        // At most one row: every column is unique.
        assert!(prove_test(&unique, &grain(&[(&[], true)], &[])).is_some());
    }

    #[test]
    fn not_null_needs_the_column_proven_not_null() {
        let t = test("not_null", None, serde_json::json!({"column_name": "id"}));
        assert!(prove_test(&t, &grain(&[(&["id"], true)], &["id"])).is_some());
        assert!(prove_test(&t, &grain(&[(&["id"], true)], &[])).is_none());
    }

    #[test]
    fn combinations_group_nulls_so_need_a_key_with_nulls() {
        let t = test(
            "unique_combination_of_columns",
            Some("dbt_utils"),
            serde_json::json!({"combination_of_columns": ["a", "b"]}),
        );
        assert!(prove_test(&t, &grain(&[(&["a", "b"], true)], &[])).is_some());
        assert!(prove_test(&t, &grain(&[(&["a"], true)], &[])).is_some());
        // Unique among non-NULL values only, and `a` may be NULL.
        assert!(prove_test(&t, &grain(&[(&["a"], false)], &[])).is_none());
        assert!(prove_test(&t, &grain(&[(&["a"], false)], &["a"])).is_some());
        // Another package's test of the same name is not dbt_utils'.
        let other = test(
            "unique_combination_of_columns",
            Some("my_pkg"),
            serde_json::json!({"combination_of_columns": ["a"]}),
        );
        assert!(prove_test(&other, &grain(&[(&["a"], true)], &[])).is_none());
    }
}
