//! Rendering a generic test before it runs: its config values written as
//! Jinja, and its kwargs, evaluated as dbt's `add_rendered_test_kwargs`.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use minijinja::Value;
use regex::Regex;
use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::node::Node;
use crate::project::config::Config;
use crate::render::{NodeScope, NodeVars, Renderer};

/// Renders the test's config values written as Jinja, as dbt's
/// `TestBuilder` does with each string config value (natively: `enabled:
/// "{{ target.type != 'bigquery' }}"` is a boolean, and a test it makes
/// false is disabled). Hooks stay text: they render when they run. Returns
/// whether a value changed.
///
/// Errors: Jinja errors from a value; a value that is not plain data.
pub(super) fn render_config(
    renderer: &Renderer,
    name: &str,
    config: &mut Config,
    scope: &Arc<NodeScope>,
    vars: &NodeVars,
) -> Result<bool> {
    let templated: Vec<(String, String)> = config
        .0
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "pre-hook" | "post-hook"))
        .filter_map(|(key, value)| match value {
            Json::String(s) if s.contains("{{") || s.contains("{%") => {
                Some((key.clone(), s.clone()))
            }
            _ => None,
        })
        .collect();
    for (key, text) in &templated {
        let value = renderer.render_native(name, text, scope, vars)?;
        let value = serde_json::to_value(&value).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "config `{key}` of `{name}` rendered to a value that is not plain data: {e}"
                ),
            )
        })?;
        config.set(key, value);
    }
    Ok(!templated.is_empty())
}

/// Evaluates a generic test's kwargs in `scope`, as dbt's
/// `add_rendered_test_kwargs`, at every depth (a string inside a list or
/// dict argument too): `column_name` stays text; strings that look like a
/// call (`ref(...)`, `source(...)`, `var(...)`, `env_var(...)`) are
/// evaluated as expressions; other Jinja is rendered natively (`values:
/// "{{ var('types') }}"` is the var's list, not its text).
///
/// Errors: Jinja errors from the arguments.
pub fn render_kwargs(
    renderer: &Renderer,
    node: &Node,
    scope: &Arc<NodeScope>,
    vars: &NodeVars,
) -> Result<Value> {
    let Some(meta) = &node.test_metadata else {
        return Ok(Value::from(()));
    };
    let mut out = BTreeMap::new();
    for (key, value) in &meta.kwargs {
        let rendered = match value {
            Json::String(s) if key == "column_name" => Value::from(s.clone()),
            Json::String(s) if key == "model" => {
                let expr = s
                    .trim()
                    .trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim();
                renderer.eval(unwrapped_where_subquery(renderer, scope, expr), scope, vars)?
            }
            other => render_kwarg(renderer, &node.unique_id, other, scope, vars)?,
        };
        out.insert(key.clone(), rendered);
    }
    Ok(Value::from(out))
}

/// One test argument (or a value inside one), rendered as
/// [`render_kwargs`] describes. Lists and dicts are Python lists and dicts
/// in dbt: dbt_utils' at_least_one appends to `group_by_columns`.
fn render_kwarg(
    renderer: &Renderer,
    name: &str,
    value: &Json,
    scope: &Arc<NodeScope>,
    vars: &NodeVars,
) -> Result<Value> {
    static LOOKS_LIKE_FUNC: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$").expect("valid regex")
    });
    Ok(match value {
        Json::String(s) if LOOKS_LIKE_FUNC.is_match(s) => renderer.eval(s, scope, vars)?,
        Json::String(s) if s.contains("{{") || s.contains("{%") => {
            renderer.render_native(name, s, scope, vars)?
        }
        Json::Array(items) => crate::render::pycompat::MutableList::value(
            items
                .iter()
                .map(|v| render_kwarg(renderer, name, v, scope, vars))
                .collect::<Result<_>>()?,
        ),
        Json::Object(map) => crate::render::pycompat::MutableDict::value(
            map.iter()
                .map(|(k, v)| {
                    Ok((
                        Value::from(k.as_str()),
                        render_kwarg(renderer, name, v, scope, vars)?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        other => Value::from_serialize(other),
    })
}

/// `get_where_subquery(X)` is `X` when the test has no `where` config (as
/// dbt's `default__get_where_subquery`): then, unless the project overrides
/// the macro, `X` alone is evaluated, sparing two macro calls per test and
/// phase. Otherwise `expr` as it is.
fn unwrapped_where_subquery<'a>(renderer: &Renderer, scope: &NodeScope, expr: &'a str) -> &'a str {
    let Some(inner) = expr
        .strip_prefix("get_where_subquery(")
        .and_then(|r| r.strip_suffix(')'))
    else {
        return expr;
    };
    let no_where = match scope.config_value("where") {
        None | Some(Json::Null) | Some(Json::Bool(false)) => true,
        Some(Json::String(w)) => w.is_empty(),
        Some(_) => false,
    };
    if no_where && !renderer.project_overrides(&["get_where_subquery"]) {
        inner
    } else {
        expr
    }
}
