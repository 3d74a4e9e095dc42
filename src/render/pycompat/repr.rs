//! Python's `repr()` and `json.dumps` text of values and strings, where
//! sluice prints what dbt prints with Python.

use std::fmt;

use minijinja::Value;

/// Python's `repr()` of a value inside a printed list or dict: strings
/// quoted with single quotes, `None`/`True`/`False` capitalised.
pub(super) fn python_repr(v: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if let Some(s) = v.as_str() {
        write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    } else if v.is_none() {
        f.write_str("None")
    } else if v.kind() == minijinja::value::ValueKind::Bool {
        f.write_str(if v.is_true() { "True" } else { "False" })
    } else {
        write!(f, "{v}")
    }
}

/// A string as Python's `json.dumps` writes it (`ensure_ascii`), appended
/// to `out`: `"`, `\` and control characters escaped, and every character
/// outside printable ASCII as `\uXXXX` (UTF-16, so a surrogate pair above
/// U+FFFF). Used where sluice writes what dbt writes with `json.dumps`
/// (`show --output json`, package-lock.yml's flow values).
pub fn python_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr` of a string: single quotes unless the text has a single
/// quote and no double quote; backslashes, quotes and control characters
/// escaped. Used where sluice prints what dbt prints with Python's `repr`
/// (test unique_id hashes, `api.Column`'s repr).
pub fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
