//! YAML and JSON text exactly as dbt's Python writes them, so the files
//! `sluice deps` writes are byte-for-byte those `dbt deps` writes and its
//! lock hash is dbt's.
//!
//! [`dump`] follows PyYAML's `yaml.dump(data, Dumper=dbtPackageDumper)`
//! (dbt's `task/deps.py`): block style, keys sorted, two-space indent with
//! list items indented under their key, PyYAML's choice between plain,
//! single-quoted and double-quoted scalars (a string that would read back
//! as another type, `1.0`, `yes`, `~`, is quoted) and its folding of long
//! plain and single-quoted scalars at 80 columns. [`json_dumps`] follows
//! Python's `json.dumps(value, sort_keys=True)`.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value as Json;
use serde_yaml::Value;

use crate::render::pycompat::python_json_string;

/// PyYAML's `best_width`.
const WIDTH: usize = 80;

/// `value` as PyYAML's `yaml.dump(value, Dumper=dbtPackageDumper)` writes
/// it (PyYAML 6 defaults: `sort_keys=True`, `allow_unicode=False`), ending
/// with a newline.
pub fn dump(value: &Value) -> String {
    let mut e = Emitter::default();
    match value {
        Value::Mapping(m) if !m.is_empty() => e.mapping(value, 0),
        Value::Sequence(s) if !s.is_empty() => e.sequence(value, 0),
        other => {
            e.scalar(other, 0, false);
        }
    }
    if !e.out.ends_with('\n') {
        e.out.push('\n');
    }
    e.out
}

#[derive(Default)]
struct Emitter {
    out: String,
    column: usize,
}

impl Emitter {
    fn write(&mut self, text: &str) {
        self.out.push_str(text);
        self.column += text.chars().count();
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Starts a new line at `indent` unless already at its start.
    fn indent(&mut self, indent: usize) {
        if self.column > indent || (self.column == indent && !self.out.ends_with([' ', '\n'])) {
            self.newline();
        }
        if self.column == 0 && !self.out.is_empty() && !self.out.ends_with('\n') {
            self.newline();
        }
        let pad = indent.saturating_sub(self.column);
        self.write(&" ".repeat(pad));
    }

    /// A non-empty block mapping whose keys sit at `indent`; the cursor is
    /// at `indent` (or at the end of a `- ` item indicator).
    fn mapping(&mut self, value: &Value, indent: usize) {
        let Value::Mapping(map) = value else { return };
        let mut entries: Vec<(String, &Value)> =
            map.iter().map(|(k, v)| (key_text(k), v)).collect();
        // Python's `sorted` on str: by code point, as Rust's `str` order.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (i, (key, v)) in entries.into_iter().enumerate() {
            if i > 0 || self.column != indent {
                self.indent(indent);
            }
            self.scalar(&Value::String(key), indent, true);
            self.write(":");
            self.value(v, indent);
        }
    }

    /// The value after `key:` of a mapping at `indent`.
    fn value(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Mapping(m) if !m.is_empty() => {
                self.newline();
                self.write(&" ".repeat(indent + 2));
                self.mapping(v, indent + 2);
            }
            Value::Sequence(s) if !s.is_empty() => {
                self.newline();
                self.write(&" ".repeat(indent + 2));
                self.sequence(v, indent + 2);
            }
            Value::Tagged(t) => self.value(&t.value, indent),
            other => {
                self.write(" ");
                self.scalar(other, indent + 2, false);
            }
        }
    }

    /// A non-empty block sequence whose `- ` sit at `indent` (dbt's dumper
    /// indents them under their key).
    fn sequence(&mut self, value: &Value, indent: usize) {
        let Value::Sequence(items) = value else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            if i > 0 || self.column != indent {
                self.indent(indent);
            }
            self.write("- ");
            match item {
                Value::Mapping(m) if !m.is_empty() => self.mapping(item, indent + 2),
                Value::Sequence(s) if !s.is_empty() => self.sequence(item, indent + 2),
                other => {
                    self.scalar(other, indent + 2, false);
                }
            }
        }
    }

    /// A scalar (or empty collection); `indent` is where folded lines
    /// continue, `simple_key` whether it is a mapping key.
    fn scalar(&mut self, value: &Value, indent: usize, simple_key: bool) {
        match value {
            Value::Null => self.write("null"),
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let text = match n.as_f64() {
                    Some(f) if n.is_f64() => yaml_float(f),
                    _ => n.to_string(),
                };
                self.write(&text)
            }
            Value::String(s) => self.string(s, indent, simple_key),
            Value::Sequence(_) => self.write("[]"),
            Value::Mapping(_) => self.write("{}"),
            Value::Tagged(t) => self.scalar(&t.value, indent, simple_key),
        }
    }

    fn string(&mut self, s: &str, indent: usize, simple_key: bool) {
        let a = analyze(s);
        let implicit_str = !resolves_to_non_string(s);
        if implicit_str && !(simple_key && (a.empty || a.multiline)) && a.allow_block_plain {
            self.plain(s, indent, !simple_key);
        } else if a.allow_single_quoted && !(simple_key && a.multiline) {
            self.single_quoted(s, indent, !simple_key);
        } else {
            self.double_quoted(s);
        }
    }

    /// PyYAML's `write_plain`: a lone space past the width becomes a line
    /// break.
    fn plain(&mut self, s: &str, indent: usize, split: bool) {
        let chars: Vec<char> = s.chars().collect();
        let (mut start, mut end) = (0, 0);
        let mut spaces = false;
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split {
                        self.newline();
                        self.write(&" ".repeat(indent));
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if ch.is_none() || ch == Some(' ') {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
            }
            end += 1;
        }
    }

    /// PyYAML's `write_single_quoted`: `'` doubled, line breaks doubled,
    /// lone inner spaces past the width folded.
    fn single_quoted(&mut self, s: &str, indent: usize, split: bool) {
        self.write("'");
        let chars: Vec<char> = s.chars().collect();
        let (mut start, mut end) = (0, 0);
        let (mut spaces, mut breaks) = (false, false);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > WIDTH
                        && split
                        && start != 0
                        && end != chars.len()
                    {
                        self.newline();
                        self.write(&" ".repeat(indent));
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if breaks {
                if ch != Some('\n') {
                    if chars[start] == '\n' {
                        self.newline();
                    }
                    for _ in start..end {
                        self.newline();
                    }
                    self.write(&" ".repeat(indent));
                    start = end;
                }
            } else if (ch.is_none() || ch == Some(' ') || ch == Some('\n') || ch == Some('\''))
                && start < end
            {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = c == '\n';
            }
            end += 1;
        }
        self.write("'");
    }

    /// PyYAML's `write_double_quoted` with its escapes (long double-quoted
    /// scalars are not folded here: PyYAML would, past 80 columns).
    fn double_quoted(&mut self, s: &str) {
        let mut out = String::from("\"");
        for c in s.chars() {
            let esc = match c {
                '\0' => Some("0"),
                '\x07' => Some("a"),
                '\x08' => Some("b"),
                '\t' => Some("t"),
                '\n' => Some("n"),
                '\x0B' => Some("v"),
                '\x0C' => Some("f"),
                '\r' => Some("r"),
                '\x1B' => Some("e"),
                '"' => Some("\""),
                '\\' => Some("\\"),
                '\u{85}' => Some("N"),
                '\u{A0}' => Some("_"),
                '\u{2028}' => Some("L"),
                '\u{2029}' => Some("P"),
                _ => None,
            };
            if let Some(e) = esc {
                out.push('\\');
                out.push_str(e);
            } else if (' '..='~').contains(&c) {
                out.push(c);
            } else if (c as u32) <= 0xFF {
                out.push_str(&format!("\\x{:02X}", c as u32));
            } else if (c as u32) <= 0xFFFF {
                out.push_str(&format!("\\u{:04X}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08X}", c as u32));
            }
        }
        out.push('"');
        self.write(&out);
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".into(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// What PyYAML's `analyze_scalar` decides about a string.
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_space_or_break(c: Option<char>) -> bool {
    matches!(
        c,
        None | Some('\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
    )
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut followed_by_ws = n == 1 || is_space_or_break(chars.get(1).copied());
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                block_indicators = true;
            }
            if (c == '?' || c == ':' || c == '-') && followed_by_ws {
                block_indicators = true;
            }
        } else {
            if c == ':' && followed_by_ws {
                block_indicators = true;
            }
            if c == '#' && preceded_by_ws {
                block_indicators = true;
            }
        }
        let is_break = matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if is_break {
            line_breaks = true;
        }
        // allow_unicode is off: anything outside printable ASCII (but `\n`)
        // needs double quotes.
        if !(c == '\n' || (' '..='~').contains(&c)) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_space_or_break(Some(c));
        followed_by_ws = i + 2 >= n || is_space_or_break(chars.get(i + 2).copied());
    }
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

/// Whether PyYAML's implicit resolvers would read `s`, written plain, as
/// something other than a string (bool, int, float, null, timestamp,
/// merge or value key).
fn resolves_to_non_string(s: &str) -> bool {
    static RE: OnceLock<Vec<Regex>> = OnceLock::new();
    let res = RE.get_or_init(|| {
        [
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            r"^(?:<<)$",
            r"^(?:~|null|Null|NULL|)$",
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            r"^(?:=)$",
        ]
        .iter()
        .map(|p| Regex::new(p).unwrap_or_else(|e| unreachable!("static regex: {e}")))
        .collect()
    });
    res.iter().any(|r| r.is_match(s))
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form
/// below 1e-4 and from 1e16.
fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let e = format!("{f:e}");
        let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mant}e{sign}{digits:0>2}");
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// PyYAML's `represent_float`.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let v = py_float_repr(f).to_lowercase();
    if !v.contains('.') && v.contains('e') {
        v.replacen('e', ".0e", 1)
    } else {
        v
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected text was written by PyYAML 6.0.3 with dbt's
    /// `dbtPackageDumper` (`yaml.dump(doc, Dumper=..., default_flow_style=False)`)
    /// from the same document.
    #[test]
    fn dump_matches_pyyaml() {
        let doc: Value = serde_yaml::from_str(
            r##"
packages:
  - local: "a very long path with spaces a very long path with spaces a very long path with spaces a very long path with spaces a very long path with spaces "
    name: x
  - package: a/b
    version: [">=1.0.0", "<2.0.0"]
  - git: x
    revision: "1.0"
    subdirectory: ""
    warn-unpinned: false
sha1_hash: abc
top: "word word word word word word word word word word word word word word word word word word word word word word word word word end"
e: []
m: {}
n: null
i: 3
f: 1.5
q: "it's"
t: "tab\there"
u: "café"
y: "yes"
c: "# x"
d: "-"
k: "a: b"
z: "2024-01-01"
o: "0755"
h: "0x1F"
dot: "1.0"
ver: "1.3.0"
sha: "1234567"
tl: "~"
col: ":x"
nl: "a\nb"
"##,
        )
        .unwrap();
        let expected = r##"c: '# x'
col: :x
d: '-'
dot: '1.0'
e: []
f: 1.5
h: '0x1F'
i: 3
k: 'a: b'
m: {}
n: null
nl: 'a

  b'
o: '0755'
packages:
  - local: 'a very long path with spaces a very long path with spaces a very long
      path with spaces a very long path with spaces a very long path with spaces '
    name: x
  - package: a/b
    version:
      - '>=1.0.0'
      - <2.0.0
  - git: x
    revision: '1.0'
    subdirectory: ''
    warn-unpinned: false
q: it's
sha: '1234567'
sha1_hash: abc
t: "tab\there"
tl: '~'
top: word word word word word word word word word word word word word word word word
  word word word word word word word word word end
u: "caf\xE9"
ver: 1.3.0
y: 'yes'
z: '2024-01-01'
"##;
        assert_eq!(dump(&doc), expected);
    }

    #[test]
    fn json_dumps_matches_python() {
        let v: Json = serde_json::json!({"version": "0.4.7", "package": "a/b", "install_prerelease": false, "x": null, "l": ["é", 1, 1.0, 1e20]});
        assert_eq!(
            json_dumps(&v),
            r#"{"install_prerelease": false, "l": ["\u00e9", 1, 1.0, 1e+20], "package": "a/b", "version": "0.4.7", "x": null}"#
        );
    }
}
