//! Reading YAML files with errors that point into the file.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Location, Result};

/// Parses `text` (the contents of `path`, relative to the project) as `T`.
///
/// Errors: [`ErrorKind::Yaml`] at the `path:line:col` serde_yaml reports, with
/// the offending line shown, for both malformed YAML and wrong shapes (a
/// string where a list belongs). A file of only blank lines and comments
/// is an empty document, as dbt reads it (PyYAML loads it as None);
/// serde_yaml alone reports the end of the stream.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let empty = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if empty {
        return serde_yaml::from_str("{}").map_err(|e| yaml_error(path, text, &e));
    }
    serde_yaml::from_str(text).map_err(|e| yaml_error(path, text, &e))
}

/// Turns a serde_yaml error into a located sluice error.
pub fn yaml_error(path: &Path, text: &str, err: &serde_yaml::Error) -> Error {
    let message = err.to_string();
    // serde_yaml appends " at line L column C"; the location carries it instead.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    let mut error = match shape_hint(&message) {
        // Well-formed YAML of the wrong shape: a config mistake, not a syntax one.
        Some(hint) => Error::new(
            ErrorKind::Config,
            format!("unexpected value in `{}`: {message}", path.display()),
        )
        .with_hint(hint),
        None => Error::new(
            ErrorKind::Yaml,
            format!("invalid YAML in `{}`: {message}", path.display()),
        )
        .with_hint(syntax_hint(&message)),
    };
    if let Some(loc) = err.location() {
        error = error.with_location(Location::new(path, loc.line(), loc.column(), Some(text)));
    }
    error
}

/// The hint for a serde_yaml message about well-formed YAML of the wrong
/// shape (`invalid type`, `missing field`, `unknown field`), or `None` when
/// the message is about malformed YAML.
fn shape_hint(message: &str) -> Option<String> {
    if let Some(rest) = message.split("missing field `").nth(1) {
        let field = rest.split('`').next().unwrap_or("");
        return Some(format!("add `{field}:` here: it is required"));
    }
    if let Some(rest) = message.split("unknown field `").nth(1) {
        let field = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest
            .split("expected ")
            .nth(1)
            .unwrap_or("")
            .split(['`', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "one of" && *s != "or")
            .collect();
        return Some(
            match crate::error::did_you_mean(field, expected.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("remove `{field}`: it is not a key here"),
            },
        );
    }
    let rest = message.split("invalid type: ").nth(1)?;
    let (found, expected) = rest.split_once(", expected ")?;
    Some(match expected {
        e if e.contains("sequence") => {
            format!(
                "found {found}: write a list here, each item on its own line starting with `- `"
            )
        }
        e if e.contains("map") => {
            format!("found {found}: write `key: value` lines here, not a list or a single value")
        }
        e => format!("found {found}: write {e} here"),
    })
}

/// The hint for malformed YAML, by what serde_yaml found.
fn syntax_hint(message: &str) -> &'static str {
    if message.contains("mapping values are not allowed") {
        "a value that contains `: ` must be quoted, e.g. `description: 'note: ...'`"
    } else if message.contains("cannot start any token") || message.contains("tab") {
        "YAML indents with spaces, never tabs"
    } else if message.contains("duplicate") {
        "a key may appear once in a mapping: remove or merge the second one"
    } else {
        "check the indentation and that lists start with `- `"
    }
}

/// Renders the Jinja in the string values of a YAML tree read from `path`
/// (whose contents are `text`, for error locations), as dbt's renderers walk
/// a file's data: every string value in place, mapping keys never, and no
/// value under a key path that `skip` names (dbt's `should_render_keypath`).
pub struct ValueRenderer<'a> {
    /// The file the tree was read from, relative to the project root.
    pub path: &'a Path,
    /// The file's contents.
    pub text: &'a str,
    /// Renders one string value (native types: a single `{{ expr }}` keeps its type).
    pub render: &'a dyn Fn(&str) -> Result<serde_yaml::Value>,
    /// Whether the value at a key path (mapping keys and list indexes from
    /// the root) stays as written.
    pub skip: &'a dyn Fn(&[String]) -> bool,
    /// The hint of a render error.
    pub hint: &'a str,
}

impl ValueRenderer<'_> {
    /// Renders `value`, found at `keypath`, in place.
    ///
    /// Errors: the first value that fails to render, located at its place
    /// in the file, naming its key path, with [`ValueRenderer::hint`].
    pub fn render(&self, value: &mut serde_yaml::Value, keypath: &mut Vec<String>) -> Result<()> {
        match value {
            serde_yaml::Value::String(s) => {
                *value = (self.render)(s).map_err(|e| self.located(e, s, keypath))?;
            }
            serde_yaml::Value::Mapping(map) => {
                for (key, child) in map.iter_mut() {
                    let key = match key {
                        serde_yaml::Value::String(k) => k.clone(),
                        other => serde_yaml::to_string(other)
                            .map(|k| k.trim_end().to_owned())
                            .unwrap_or_default(),
                    };
                    keypath.push(key);
                    let result = if (self.skip)(keypath) {
                        Ok(())
                    } else {
                        self.render(child, keypath)
                    };
                    keypath.pop();
                    result?;
                }
            }
            serde_yaml::Value::Sequence(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    keypath.push(i.to_string());
                    let result = self.render(child, keypath);
                    keypath.pop();
                    result?;
                }
            }
            serde_yaml::Value::Tagged(tagged) => self.render(&mut tagged.value, keypath)?,
            _ => {}
        }
        Ok(())
    }

    /// A render error of the value `raw` at `keypath`, located in the file:
    /// at the value itself when it is written unescaped, else at its first line.
    fn located(&self, err: Error, raw: &str, keypath: &[String]) -> Error {
        let first_line = raw.lines().next().unwrap_or(raw);
        let offset = self.text.find(raw).or_else(|| self.text.find(first_line));
        let mut out = Error::new(
            err.kind(),
            format!(
                "could not render `{}` in `{}`: {}",
                keypath.join("."),
                self.path.display(),
                err.message()
            ),
        )
        .with_hint(err.hint().unwrap_or(self.hint));
        if let Some(offset) = offset {
            out = out.with_location(Location::from_offset(self.path, self.text, offset));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_comment_only_files_are_empty_documents() {
        for text in ["", "\n  \n", "# written by a tool\n\n  # nothing yet\n"] {
            let doc: std::collections::BTreeMap<String, u32> =
                parse(Path::new("a.yml"), text).unwrap();
            assert!(doc.is_empty(), "{text:?}");
        }
        // A comment after content is not an empty file.
        let doc: std::collections::BTreeMap<String, u32> =
            parse(Path::new("a.yml"), "a: 1 # one\n").unwrap();
        assert_eq!(doc["a"], 1);
    }

    #[test]
    fn bad_yaml_points_at_line() {
        let text = "models:\n  - name: a\n   bad: [\n";
        let err = parse::<serde_yaml::Value>(Path::new("models/s.yml"), text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Yaml);
        assert!(err.location().unwrap().line >= 3, "{}", err.render());
    }
}
