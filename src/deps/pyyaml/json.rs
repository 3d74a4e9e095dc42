//! JSON text as Python's `json.dumps(value, sort_keys=True)` writes it.

use serde_json::Value as Json;

use crate::deps::pyyaml::scalar::py_float_repr;
use crate::render::pycompat::python_json_string;

/// `value` as Python's `json.dumps(value, sort_keys=True)` writes it:
/// `", "` and `": "` separators, keys sorted, non-ASCII as `\uXXXX`.
pub fn json_dumps(value: &Json) -> String {
    let mut out = String::new();
    json_into(value, &mut out);
    out
}

fn json_into(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => out.push_str(&py_float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Json::String(s) => python_json_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_into(v, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_json_string(k, out);
                out.push_str(": ");
                json_into(&map[k], out);
            }
            out.push('}');
        }
    }
}
