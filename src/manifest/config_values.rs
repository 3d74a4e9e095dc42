//! Config values checked once every layer is merged (dbt_project.yml,
//! schema YAML, `config()`), before any database is opened: a
//! materialization, strategy or severity sluice cannot run, or a value of
//! the wrong type, is a located error (exit 2) instead of a surprise at
//! run time or a silent default. Also the typo warnings for config keys.
//!
//! Each problem is reported where the winning value was written: the
//! node's own `config()` call, else its schema YAML entry, else
//! dbt_project.yml (as dbt merges them, the most specific wins).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::manifest::node::{Node, ResourceType};

/// The materializations sluice runs for models, as dbt-duckdb names them.
const MODEL_MATERIALIZATIONS: &[&str] = &["view", "table", "incremental", "ephemeral", "external"];

/// The incremental strategies sluice runs, as dbt names them.
/// `insert_overwrite` is Spark's (dbt-spark's); other warehouses refuse it when the model runs.
const INCREMENTAL_STRATEGIES: &[&str] = &[
    "append",
    "delete+insert",
    "merge",
    "insert_overwrite",
    "microbatch",
];

/// dbt's `on_error` values (dbt 1.12): what a model's failure does to the
/// models downstream of it.
const ON_ERROR: &[&str] = &["skip_children", "continue"];

/// dbt's `on_schema_change` values.
const ON_SCHEMA_CHANGE: &[&str] = &["ignore", "fail", "append_new_columns", "sync_all_columns"];

/// Checks the merged config of every node in `nodes` (models, seeds,
/// snapshots and data tests; `root` is the project directory) and returns
/// the first problem, located where its value was written.
///
/// Errors: [`ErrorKind::Config`] for an unknown `materialized`,
/// `incremental_strategy` or `on_schema_change`; a `severity` other than
/// `error`/`warn` (dbt: "Severity must be either warn or error"); a
/// `warn_if`/`error_if` that is not a comparison with a number; and
/// `enabled`, `full_refresh`, `store_failures`, `tags`, `column_types` or
/// `quote_columns` of the wrong type.
pub(crate) fn check_config_values(root: &Path, nodes: &[Node]) -> Result<()> {
    for node in nodes {
        if let Some((key, message, hint)) = first_problem(node) {
            let mut err = Error::new(ErrorKind::Config, message).with_hint(hint);
            let value = node.config.get(key).and_then(Json::as_str);
            // A missing microbatch setting is reported where the model
            // chose the strategy that needs it.
            let loc = locate_value(root, node, key, value)
                .or_else(|| locate(root, node, "incremental_strategy"));
            if let Some(loc) = loc {
                err = err.with_location(loc);
            }
            return Err(err);
        }
    }
    Ok(())
}

/// The first config problem of `node`: the key, the message and the hint.
fn first_problem(node: &Node) -> Option<(&'static str, String, String)> {
    let what = format!("{} `{}`", node.resource_type.as_str(), node.name);
    let config = &node.config;
    let text = |key: &str| config.get(key).and_then(Json::as_str);
    for key in ["enabled", "full_refresh", "store_failures", "quote_columns"] {
        match config.get(key) {
            None | Some(Json::Null | Json::Bool(_)) => {}
            Some(other) => {
                return Some((
                    static_key(key),
                    format!("{what} sets `{key}` to {other}, which is not true or false"),
                    format!("write `{key}: true` or `{key}: false`, without quotes"),
                ))
            }
        }
    }
    match config.get("tags") {
        None | Some(Json::Null | Json::String(_)) => {}
        Some(Json::Array(items)) if items.iter().all(Json::is_string) => {}
        Some(other) => {
            return Some((
                "tags",
                format!("{what} sets `tags` to {other}: tags are text"),
                "write a tag or a list of tags, e.g. `tags: ['nightly']`".to_owned(),
            ))
        }
    }
    match node.resource_type {
        ResourceType::Model => {
            let m = text("materialized").unwrap_or("view");
            if !MODEL_MATERIALIZATIONS.contains(&m) {
                return Some((
                    "materialized",
                    format!("{what} has materialized `{m}`, which is not a materialization sluice knows"),
                    one_of(m, MODEL_MATERIALIZATIONS),
                ));
            }
            if let Err((key, message, hint)) =
                crate::project::config::build_after::BuildAfter::of(config)
            {
                return Some((key, format!("{what}: {message}"), hint));
            }
            if let Some(s) = text("on_error") {
                if !ON_ERROR.contains(&s) {
                    return Some((
                        "on_error",
                        format!("{what} has on_error `{s}`, which dbt does not know"),
                        one_of(s, ON_ERROR),
                    ));
                }
            }
            if m == "incremental" {
                if let Some(s) = text("incremental_strategy") {
                    if !INCREMENTAL_STRATEGIES.contains(&s) {
                        return Some((
                            "incremental_strategy",
                            format!(
                                "{what} has incremental_strategy `{s}`, which sluice does not know"
                            ),
                            one_of(s, INCREMENTAL_STRATEGIES),
                        ));
                    }
                }
                if let Err((key, message, hint)) =
                    crate::project::config::microbatch::Microbatch::of(config)
                {
                    return Some((key, format!("{what}: {message}"), hint));
                }
                if let Some(s) = text("on_schema_change") {
                    if !ON_SCHEMA_CHANGE.contains(&s) {
                        return Some((
                            "on_schema_change",
                            format!("{what} has on_schema_change `{s}`, which dbt does not know"),
                            one_of(s, ON_SCHEMA_CHANGE),
                        ));
                    }
                }
            }
        }
        ResourceType::Test => {
            if let Some(s) = config.get("severity") {
                let ok = s
                    .as_str()
                    .is_some_and(|s| matches!(s.to_ascii_lowercase().as_str(), "error" | "warn"));
                if !ok {
                    return Some((
                        "severity",
                        format!(
                            "{what} has severity {s}: dbt's severity is either `warn` or `error`"
                        ),
                        "use `severity: warn` (report and go on) or `severity: error` (fail)"
                            .to_owned(),
                    ));
                }
            }
            for key in ["warn_if", "error_if"] {
                if let Some(v) = config.get(key) {
                    if !v.as_str().is_some_and(is_threshold) {
                        return Some((
                            static_key(key),
                            format!("{what} has {key} {v}, which is not a comparison with a number"),
                            format!("write a condition on the failure count, e.g. `{key}: \">10\"` or `{key}: \"!=0\"`"),
                        ));
                    }
                }
            }
        }
        ResourceType::Seed => match config.get("column_types") {
            None | Some(Json::Null) => {}
            Some(Json::Object(types)) if types.values().all(Json::is_string) => {}
            Some(other) => {
                return Some((
                    "column_types",
                    format!("{what} sets `column_types` to {other}: it maps column names to types"),
                    "write a mapping, e.g. `column_types: {id: bigint, amount: decimal(10,2)}`"
                        .to_owned(),
                ))
            }
        },
        _ => {}
    }
    None
}

/// The `&'static str` among the checked keys equal to `key`.
fn static_key(key: &str) -> &'static str {
    [
        "enabled",
        "full_refresh",
        "store_failures",
        "quote_columns",
        "warn_if",
        "error_if",
    ]
    .into_iter()
    .find(|k| *k == key)
    .unwrap_or("config")
}

/// "did you mean" among `allowed`, else the list of them.
fn one_of(value: &str, allowed: &[&str]) -> String {
    match did_you_mean(value, allowed.iter().copied()) {
        Some(close) => format!("did you mean `{close}`? (one of: {})", allowed.join(", ")),
        None => format!("use one of: {}", allowed.join(", ")),
    }
}

/// dbt's `warn_if`/`error_if`: a comparison operator and a number
/// (`">10"`, `"!= 0"`), appended to the failure count in SQL.
fn is_threshold(s: &str) -> bool {
    let s = s.trim();
    let rest = ["!=", "<>", ">=", "<=", "==", "=", ">", "<"]
        .iter()
        .find_map(|op| s.strip_prefix(op));
    rest.is_some_and(|n| n.trim().parse::<f64>().is_ok())
}

/// Where `node`'s config `key` was written, most specific first: its own
/// `config()` call, its schema YAML entry, then its package's
/// dbt_project.yml (`+key:` or `key:`).
pub(crate) fn locate(root: &Path, node: &Node, key: &str) -> Option<Location> {
    locate_value(root, node, key, None)
}

/// [`locate`], preferring in each file the place where `key` is set to
/// `value` (dbt_project.yml may set a key at several folder levels).
fn locate_value(root: &Path, node: &Node, key: &str, value: Option<&str>) -> Option<Location> {
    let key_pattern = regex::Regex::new(&format!(r"\+?\b{}\s*[=:]", regex::escape(key))).ok()?;
    let pattern = Finder {
        key: key_pattern,
        value,
    };
    let dir = package_dir(root, node);
    // The node's own file: `config(key=...)` in SQL, or a generic test's YAML.
    let own = if node.resource_type == ResourceType::Test && node.test_metadata.is_some() {
        std::fs::read_to_string(dir.join(&node.original_file_path)).ok()
    } else {
        Some(node.raw_code.clone())
    };
    if let Some(text) = own {
        if let Some(m) = pattern.find(&text) {
            return Some(Location::from_offset(
                shown(root, &dir, &node.original_file_path),
                &text,
                m.start(),
            ));
        }
    }
    if let Some(patch) = &node.patch_path {
        if let Ok(text) = std::fs::read_to_string(dir.join(patch)) {
            // After the node's own entry, so another node's key is not taken.
            let from = text
                .find(&format!("name: {}", node.name))
                .or_else(|| text.find(&node.name))
                .unwrap_or(0);
            if let Some(m) = pattern.find(&text[from..]) {
                return Some(Location::from_offset(
                    shown(root, &dir, patch),
                    &text,
                    from + m.start(),
                ));
            }
        }
    }
    let project_file = PathBuf::from("dbt_project.yml");
    let text = std::fs::read_to_string(dir.join(&project_file)).ok()?;
    let m = pattern.find(&text)?;
    Some(Location::from_offset(
        shown(root, &dir, &project_file),
        &text,
        m.start(),
    ))
}

/// The first place in a text that sets a key, preferring one on whose line
/// the value appears.
struct Finder<'a> {
    key: regex::Regex,
    value: Option<&'a str>,
}

/// A match of [`Finder`]: where it starts.
struct Found(usize);

impl Found {
    fn start(&self) -> usize {
        self.0
    }
}

impl Finder<'_> {
    fn find(&self, text: &str) -> Option<Found> {
        let mut first = None;
        for m in self.key.find_iter(text) {
            first.get_or_insert(m.start());
            let line_end = text[m.end()..]
                .find('\n')
                .map_or(text.len(), |i| m.end() + i);
            if self
                .value
                .is_none_or(|v| text[m.end()..line_end].contains(v))
            {
                return Some(Found(m.start()));
            }
        }
        first.map(Found)
    }
}

/// The directory `node`'s paths are relative to: its package's, or the
/// project's.
fn package_dir(root: &Path, node: &Node) -> PathBuf {
    if node.package_dir.as_os_str().is_empty() {
        root.to_path_buf()
    } else {
        root.join(&node.package_dir)
    }
}

/// `rel` (relative to `dir`) as a user reads it: relative to the project.
fn shown(root: &Path, dir: &Path, rel: &Path) -> PathBuf {
    dir.join(rel)
        .strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_a_comparison_and_a_number() {
        for ok in [">10", "!=0", "<> 0", ">= 1.5", "=0", " > 3 "] {
            assert!(is_threshold(ok), "{ok}");
        }
        for bad in ["10", "> ten", "", "=>1", "> 1 or 1=1"] {
            assert!(!is_threshold(bad), "{bad}");
        }
    }

    #[test]
    fn hints_offer_the_closest_allowed_value() {
        assert!(one_of("tabel", MODEL_MATERIALIZATIONS).starts_with("did you mean `table`?"));
        assert!(one_of("zzz", INCREMENTAL_STRATEGIES).starts_with("use one of: append"));
    }
}
