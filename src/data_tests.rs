//! Running data tests: wrapping a test's SQL in dbt's `get_test_sql`
//! (fail_calc, warn_if, error_if), the warn severity, and the audit
//! relation `store_failures` writes. How tests become nodes is in
//! [`crate::manifest::generic_tests`].

use minijinja::Value;

use crate::error::Result;
use crate::manifest::Node;
use crate::project::config::Config;
use crate::render::Renderer;
use crate::warehouse::relation::Relation;

/// The statement that judges a test: dbt's `get_test_sql` wrapper around
/// the test's compiled SQL (one row: failures, should_warn, should_error).
///
/// Errors: Jinja errors from a project override of `get_test_sql`.
pub fn wrap_test_sql(renderer: &Renderer, config: &Config, compiled: &str) -> Result<String> {
    let limit = config
        .get("limit")
        .filter(|v| !v.is_null())
        .map(Value::from_serialize)
        .unwrap_or(Value::from(()));
    let v = renderer.call_macro(
        "get_test_sql",
        &[
            Value::from(compiled.to_owned()),
            Value::from(
                config
                    .get_str("fail_calc")
                    .unwrap_or_else(|| "count(*)".into()),
            ),
            Value::from(config.get_str("warn_if").unwrap_or_else(|| "!= 0".into())),
            Value::from(config.get_str("error_if").unwrap_or_else(|| "!= 0".into())),
            limit,
        ],
    )?;
    Ok(v.to_string())
}

/// A test's severity: `error` or `warn` (config `severity`, any case).
pub fn is_warn_severity(config: &Config) -> bool {
    config
        .get_str("severity")
        .is_some_and(|s| s.eq_ignore_ascii_case("warn"))
}

/// The relation failing rows are stored in for `store_failures: true`:
/// `<target schema>_<schema config>.<alias>`, as dbt's `dbt_test__audit`.
///
/// Errors: Jinja errors from a project's `generate_schema_name`.
pub fn audit_relation(renderer: &Renderer, node: &Node, database: &str) -> Result<Relation> {
    let schema_cfg = node
        .config
        .get_str("schema")
        .map(Value::from)
        .unwrap_or(Value::from(()));
    let schema = renderer
        .call_macro("generate_schema_name", &[schema_cfg, node.template_value()])?
        .to_string();
    let alias = node
        .config
        .get_str("alias")
        .unwrap_or_else(|| node.name.clone());
    Ok(Relation::new(database, schema.trim(), &alias))
}
