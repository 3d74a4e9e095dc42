//! Reading YAML files with errors that point into the file.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Location, Result};

/// Parses `text` (the contents of `path`, relative to the project) as `T`.
///
/// Errors: [`ErrorKind::Yaml`] at the `path:line:col` serde_yaml reports, with
/// the offending line shown, for both malformed YAML and wrong shapes (a
/// string where a list belongs).
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    // An empty file is an empty document, as dbt treats it.
    if text.trim().is_empty() {
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
    let mut error = Error::new(
        ErrorKind::Yaml,
        format!("invalid YAML in `{}`: {message}", path.display()),
    )
    .with_hint("check the indentation and that lists start with `- `");
    if let Some(loc) = err.location() {
        error = error.with_location(Location::new(path, loc.line(), loc.column(), Some(text)));
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_yaml_points_at_line() {
        let text = "models:\n  - name: a\n   bad: [\n";
        let err = parse::<serde_yaml::Value>(Path::new("models/s.yml"), text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Yaml);
        assert!(err.location().unwrap().line >= 3, "{}", err.render());
    }
}
