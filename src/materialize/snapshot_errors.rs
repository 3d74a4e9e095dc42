//! The config errors of a snapshot run: a bad value, and a column named in
//! `unique_key` or `check_cols` that the snapshot's select does not return,
//! located at the value in its `config(...)` call.

use crate::error::{did_you_mean, Error, ErrorKind, Location};
use crate::manifest::Node;

/// A snapshot config error `msg` with `hint`, naming the snapshot.
pub(super) fn config_error(node: &Node, msg: String, hint: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("snapshot `{}`: {msg}", node.name),
    )
    .with_hint(hint.to_owned())
}

/// [`config_error`] located at `value` (quoted) after `key` in the
/// snapshot's `config(...)` call, when the config is set there.
fn config_error_at(node: &Node, key: &str, value: &str, msg: String, hint: &str) -> Error {
    let code = &node.raw_code;
    let offset = code.find(key).and_then(|k| {
        [format!("'{value}'"), format!("\"{value}\"")]
            .iter()
            .filter_map(|q| code[k..].find(q.as_str()).map(|at| k + at + 1))
            .min()
    });
    let err = config_error(node, msg, hint);
    match offset {
        Some(offset) => err.with_location(Location::from_offset(
            &node.original_file_path,
            code,
            offset,
        )),
        None => err,
    }
}

/// The error for the first of `wanted` (the columns config `key` names)
/// that the snapshot's select does not return (`source_columns`, compared
/// case-insensitively), located at its value, with a did-you-mean or the
/// hint `otherwise`; `None` when the select returns them all.
pub(super) fn missing_column<'a>(
    node: &Node,
    key: &str,
    mut wanted: impl Iterator<Item = &'a str>,
    source_columns: &[(String, String)],
    otherwise: &str,
) -> Option<Error> {
    let missing = wanted.find(|c| {
        !source_columns
            .iter()
            .any(|(s, _)| s.eq_ignore_ascii_case(c))
    })?;
    let names: Vec<&str> = source_columns.iter().map(|(c, _)| c.as_str()).collect();
    let hint = match did_you_mean(missing, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => otherwise.to_owned(),
    };
    Some(config_error_at(
        node,
        key,
        missing,
        format!(
            "{key} names `{missing}`, which the snapshot's select does not return ({})",
            names.join(", ")
        ),
        &hint,
    ))
}
