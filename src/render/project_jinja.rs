//! The Jinja of project files: dbt_project.yml, profiles.yml and schema
//! YAML string values, rendered as dbt's load-time renderers do (a
//! `TargetContext`: `target`, `var()`, `env_var()`, `modules`), handed to
//! [`crate::project::Project::load`] through [`ProjectJinja`].

use std::collections::BTreeMap;

use minijinja::{Environment, Value};
use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};
use crate::project::Target;
use crate::render::diagnostics::jinja_error;
use crate::render::{builtins, modules, pycompat};

/// The Jinja that [`Project::load`] needs, as dbt renders project files:
/// [`render_config_string`] and [`render_project_value`].
pub struct ProjectJinja;

impl crate::project::ConfigJinja for ProjectJinja {
    fn config_string(&self, text: &str, vars: &BTreeMap<String, Json>) -> Result<String> {
        render_config_string(text, vars)
    }

    fn project_value(
        &self,
        text: &str,
        cli_vars: &BTreeMap<String, Json>,
        target: &Target,
    ) -> Result<serde_yaml::Value> {
        render_project_value(text, cli_vars, target)
    }
}

/// Renders a string value of dbt_project.yml or profiles.yml (`env_var`, `var`).
///
/// Errors: [`ErrorKind::Jinja`] for bad Jinja or a missing env var without default.
pub fn render_config_string(text: &str, vars: &BTreeMap<String, Json>) -> Result<String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_owned());
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function("env_var", builtins::env_var_fn);
    let vars = vars.clone();
    env.add_function("var", move |name: String, default: Option<Value>| {
        vars.get(&name)
            .map(Value::from_serialize)
            .or(default)
            .unwrap_or(Value::from(()))
    });
    minijinja_contrib::add_to_environment(&mut env);
    env.render_str(text, ())
        .map_err(|e| jinja_error(&e, Some(text)))
}

/// Renders one string value of a dbt_project.yml config tree (`models:`,
/// `seeds:`, `snapshots:`, `data_tests:`) as dbt's `DbtProjectYamlRenderer`
/// does at load time, or of a schema YAML file as its `SchemaYamlRenderer`:
/// the context is dbt's `TargetContext` (`target`, `var()` over `cli_vars`,
/// which are the `--vars` only for dbt_project.yml, `env_var()`,
/// `modules`), and rendering is
/// native, so a value that is one `{{ expression }}` keeps the expression's
/// type (`"{{ target.name == 'dev' }}"` is a boolean) while anything else
/// renders to a string, as dbt's `quoted_native_concat`.
///
/// Errors: [`ErrorKind::Jinja`] for bad Jinja, a missing env var without
/// default, or a `var()` without default that `--vars` does not set (dbt's
/// "Required var ... not found"). The error has no location; the caller
/// knows where the value sits in its file.
pub fn render_project_value(
    text: &str,
    cli_vars: &BTreeMap<String, Json>,
    target: &Target,
) -> Result<serde_yaml::Value> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(serde_yaml::Value::String(text.to_owned()));
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function("env_var", builtins::env_var_no_secrets);
    let vars = cli_vars.clone();
    env.add_function(
        "var",
        move |name: String,
              default: Option<Value>|
              -> std::result::Result<Value, minijinja::Error> {
            match (vars.get(&name), default) {
                (Some(v), _) => Ok(Value::from_serialize(v)),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("required var `{name}` not found, and it has no default"),
                )),
            }
        },
    );
    env.add_global("target", target_value(target));
    env.add_global("modules", modules::modules());
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    minijinja_contrib::add_to_environment(&mut env);
    pycompat::register(&mut env);
    let to_yaml = |value: Value| {
        serde_yaml::to_value(&value).map_err(|e| {
            Error::new(
                ErrorKind::Jinja,
                format!("`{text}` rendered to a value that is not plain data: {e}"),
            )
        })
    };
    if let Some(expr) = single_expression(text) {
        let expr = pycompat::rewrite(expr, true);
        let value = env
            .compile_expression(&expr)
            .and_then(|e| e.eval(()))
            .map_err(|e| jinja_error(&e, Some(text)))?;
        if value.is_undefined() {
            return Ok(serde_yaml::Value::String(String::new()));
        }
        return to_yaml(value);
    }
    env.render_str(&pycompat::rewrite(text, false), ())
        .map(serde_yaml::Value::String)
        .map_err(|e| jinja_error(&e, Some(text)))
}

/// The expression of a template that is one `{{ ... }}` and nothing else
/// (whitespace control allowed), the case where dbt's native rendering keeps
/// the expression's type.
pub(super) fn single_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    Some(inner.trim())
}

/// `target` as templates see it: dbt's target fields for a DuckDB profile.
pub(super) fn target_value(target: &Target) -> Value {
    Value::from_serialize(serde_json::json!({
        "name": target.name,
        "profile_name": target.profile_name,
        "type": target.adapter_type,
        "database": target.database,
        "schema": target.schema,
        "threads": target.threads,
        "path": target.path,
        "external_root": target.external_root,
        "extensions": target.extensions,
        "settings": target.settings,
    }))
}
