//! PyYAML's emitter as dbt's `dbtPackageDumper` drives it: block style,
//! keys sorted, list items indented under their key, and each string
//! written plain, single-quoted or double-quoted, folded at 80 columns.

use serde_yaml::Value;

use crate::deps::pyyaml::scalar::{analyze, resolves_to_non_string, yaml_float};

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
