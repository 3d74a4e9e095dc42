//! `run-operation`, as dbt's: call one macro against the warehouse.

use std::sync::{Arc, Mutex};

use crate::cli::GlobalArgs;
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::error::{Error, ErrorKind, Result, Severity};
use crate::execute::output::{print_diagnostic, Printer};
use crate::render::{Introspection, NodeScope, NodeVars, Phase};
use crate::warehouse::connection::Connection;

/// `sluice run-operation <macro> [--args '{k: v}']`, as dbt's: renders a
/// call of `macro` (`name`, or `package.name`) with `args` (a YAML mapping,
/// passed as keyword arguments) on a live connection, so its `run_query`
/// calls and `statement` blocks run as it renders; what it returns is
/// dropped, what it logs is printed.
///
/// Returns [`Outcome::NodeFailure`] (exit 1) when the macro fails (a
/// Jinja error or one from the warehouse), reported with its location.
///
/// Errors: [`ErrorKind::Usage`] for a macro no package defines (with the
/// closest names) or `--args` that are not a YAML mapping; project errors;
/// the warehouse's connection errors.
pub fn run_operation(g: &GlobalArgs, macro_name: &str, args: Option<&str>) -> Result<Outcome> {
    let printer = Printer::new(g.quiet);
    let p = Session::open(g, InvocationArgs::command("run-operation", g), printer)?;
    let kwargs = parse_args(args)?;
    let (package, name) = match macro_name.split_once('.') {
        Some((package, name)) => (Some(package), name),
        None => (None, macro_name),
    };
    let known = p
        .renderer
        .macros()
        .iter()
        .any(|m| m.name == name && package.is_none_or(|pkg| m.package() == pkg));
    if !known {
        let mut names: Vec<&str> = p
            .renderer
            .macros()
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        names.sort_by(|a, b| {
            strsim::jaro_winkler(b, name)
                .partial_cmp(&strsim::jaro_winkler(a, name))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        names.dedup();
        return Err(Error::new(
            ErrorKind::Usage,
            format!("no package defines a macro named `{macro_name}`"),
        )
        .with_hint(format!(
            "the closest names: {}",
            names
                .iter()
                .take(3)
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let db = crate::adapter::open(&p.project.target)?;
    let live: Box<dyn Connection> = db.connect()?;
    let uid = format!("operation.{}.{name}", p.manifest.project_name);
    let scope = Arc::new(
        NodeScope::new(
            Phase::Compile,
            &uid,
            Default::default(),
            Arc::new((*p.manifest.resolver).clone()),
        )
        .with_introspection(Introspection::Live(Arc::new(Mutex::new(live)))),
    );
    let vars = NodeVars {
        this: None,
        model: minijinja::Value::from(()),
        test_kwargs: None,
    };
    let call = format!("{{{{ {macro_name}(**{kwargs}) }}}}");
    match p.renderer.render("<run-operation>", &call, &scope, &vars) {
        Ok(_) => Ok(Outcome::Success),
        Err(e) => {
            print_diagnostic(
                &e.with_note(format!("while running operation `{macro_name}`")),
                Severity::Error,
            );
            Ok(Outcome::NodeFailure)
        }
    }
}

/// `--args` (a YAML mapping; none is `{}`) as a Jinja dict literal.
///
/// Errors: [`ErrorKind::Usage`] when it is not YAML or not a mapping.
fn parse_args(args: Option<&str>) -> Result<String> {
    let Some(text) = args.filter(|a| !a.trim().is_empty()) else {
        return Ok("{}".into());
    };
    let bad = |why: String| {
        Error::new(ErrorKind::Usage, format!("`--args` {why}")).with_hint(
            "pass a YAML mapping of the macro's arguments: --args '{table: orders, days: 7}'",
        )
    };
    let value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| bad(format!("is not YAML: {e}")))?;
    if !value.is_mapping() {
        return Err(bad(format!("must be a mapping, got `{}`", text.trim())));
    }
    Ok(jinja_literal(&crate::project::config::yaml_to_json(&value)))
}

/// `v` written as a Jinja literal (JSON, with `none`, `true` and `false`).
fn jinja_literal(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => "none".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => serde_json::to_string(s).unwrap_or_default(),
        J::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(jinja_literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        J::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    serde_json::to_string(k).unwrap_or_default(),
                    jinja_literal(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_become_a_jinja_dict() {
        assert_eq!(parse_args(None).unwrap(), "{}");
        assert_eq!(
            parse_args(Some(
                "{table: orders, days: 7, keep: true, tags: [a, null]}"
            ))
            .unwrap(),
            r#"{"table": "orders", "days": 7, "keep": true, "tags": ["a", none]}"#
        );
        assert!(parse_args(Some("[1, 2]")).is_err());
        assert!(parse_args(Some("{a: [")).is_err());
    }
}
