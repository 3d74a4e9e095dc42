//! A generic test's names as dbt gives them: the node name and alias of
//! `synthesize_generic_test_names`, and the unique_id's hash suffix of
//! `create_test_node` (over Python's `repr` of the test's metadata).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value as Json};

use crate::manifest::node::md5_hex;
use crate::render::pycompat::python_str_repr;

/// dbt's `synthesize_generic_test_names`: `(alias, name)`. The name joins
/// the test type, target and the flattened arguments; the alias is cut to
/// 30 characters plus an md5 when the name reaches 64 characters.
pub(super) fn synthesize_names(
    test_type: &str,
    target_name: &str,
    args: &BTreeMap<String, Json>,
) -> (String, String) {
    static UNSAFE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("[^0-9a-zA-Z_]+").expect("valid regex"));
    let mut flat = Vec::new();
    for (key, value) in args {
        if key == "model" {
            continue;
        }
        let parts: Vec<Json> = match value {
            Json::Object(m) => m.values().cloned().collect(),
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for part in parts {
            let text = match part {
                Json::String(s) => s,
                Json::Bool(true) => "True".to_owned(),
                Json::Bool(false) => "False".to_owned(),
                Json::Null => "None".to_owned(),
                other => other.to_string(),
            };
            flat.push(UNSAFE.replace_all(&text, "_").into_owned());
        }
    }
    let unique = flat.join("__");
    let identifier = format!("{test_type}_{target_name}");
    let full = if unique.is_empty() {
        identifier.clone()
    } else {
        format!("{identifier}_{unique}")
    };
    let alias = if full.len() >= 64 {
        format!(
            "{}_{}",
            &identifier[..identifier.len().min(30)],
            md5_hex(&full)
        )
    } else {
        full.clone()
    };
    (alias, full)
}

/// The 10-character suffix of a generic test's unique_id, as dbt's
/// `create_test_node`: the last 10 hex digits of the md5 of the test's name
/// followed by Python's `repr` of its test_metadata (`namespace`, `name`,
/// `kwargs`), keys sorted and every leaf value as Python's `str()`. Equal
/// suffixes mean `dbt` and `sluice` name the same test the same way, so
/// `--select`, `--state` and run_results.json agree across the two tools.
pub fn test_hash(
    name: &str,
    test_name: &str,
    namespace: Option<&str>,
    kwargs: &Map<String, Json>,
) -> String {
    let metadata = serde_json::json!({
        "kwargs": kwargs,
        "name": test_name,
        "namespace": namespace,
    });
    let digest = md5_hex(&format!("{name}{}", python_repr(&metadata)));
    digest[digest.len() - 10..].to_owned()
}

/// Python's `repr` of dbt's `get_hashable_md(value)`: dicts with sorted
/// keys, lists, and every other value as the `repr` of its `str()`.
fn python_repr(value: &Json) -> String {
    match value {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}: {}", python_str_repr(k), python_repr(&map[k])))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Json::String(s) => python_str_repr(s),
        Json::Null => python_str_repr("None"),
        Json::Bool(b) => python_str_repr(if *b { "True" } else { "False" }),
        Json::Number(n) => python_str_repr(&python_number(n)),
    }
}

/// Python's `str()` of a YAML number: integers as written, floats in
/// Python's shortest form (`0.5`, `2.0`, `1e-05`).
fn python_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    if f.fract() == 0.0 && f.abs() < 1e16 {
        return format!("{f:.1}");
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Python switches to exponent form here, with at least two exponent digits.
        let text = format!("{f:e}");
        if let Some((mantissa, exp)) = text.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("+", exp),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
    }
    f.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins dbt-core 1.12's unique_id suffix (`create_test_node`): the
    /// expected values are what `md5(name + repr(get_hashable_md(metadata)))[-10:]`
    /// gives in Python for the same tests.
    #[test]
    fn test_hash_is_dbts() {
        let kwargs = |v: Json| v.as_object().unwrap().clone();
        assert_eq!(
            test_hash(
                "not_null_orders_id",
                "not_null",
                None,
                &kwargs(
                    serde_json::json!({"column_name": "id", "model": "{{ get_where_subquery(ref('orders')) }}"})
                )
            ),
            "84ef11d8fe"
        );
        // Values become Python's str() (True, 5, None, 0.5); a quote picks the other quote.
        assert_eq!(
            test_hash(
                "x",
                "accepted_values",
                Some("dbt_utils"),
                &kwargs(serde_json::json!({
                    "values": ["a", "it's", true, 5, null, 0.5],
                    "model": "{{ get_where_subquery(source('raw', 'orders')) }}",
                    "column_name": "status"
                }))
            ),
            "563383b7ea"
        );
    }

    fn args(pairs: &[(&str, Json)]) -> BTreeMap<String, Json> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn test_names_match_dbt() {
        // Pins dbt's generic test naming (synthesize_generic_test_names).
        let (_, name) = synthesize_names(
            "not_null",
            "orders",
            &args(&[("column_name", Json::from("order_id"))]),
        );
        assert_eq!(name, "not_null_orders_order_id");
        let (_, name) = synthesize_names(
            "accepted_values",
            "orders",
            &args(&[
                ("column_name", Json::from("status")),
                ("values", serde_json::json!(["placed", "shipped"])),
            ]),
        );
        assert_eq!(name, "accepted_values_orders_status__placed__shipped");
        let (_, name) = synthesize_names(
            "relationships",
            "orders",
            &args(&[
                ("column_name", Json::from("customer_id")),
                ("field", Json::from("customer_id")),
                ("to", Json::from("ref('customers')")),
            ]),
        );
        assert_eq!(
            name,
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        let (alias, name) = synthesize_names(
            "accepted_values",
            "a_rather_long_model_name",
            &args(&[
                ("column_name", Json::from("status")),
                (
                    "values",
                    serde_json::json!(["placed", "shipped", "completed", "returned"]),
                ),
            ]),
        );
        assert!(name.len() >= 64);
        assert_eq!(alias.len(), 30 + 1 + 32);
    }
}
