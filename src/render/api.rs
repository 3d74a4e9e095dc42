//! dbt's `api` context variable, as far as dbt's cross-database macros use
//! it: `api.Column`'s type-name helpers, with dbt-duckdb's values.
//!
//! dbt-duckdb's column class keeps dbt-adapters' type labels, which map only
//! `string` (to `TEXT`): `translate_type('integer')` is `integer`, so
//! `type_int()` renders `integer` on DuckDB.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

/// The `api` object: `api.Column`.
pub fn api() -> Value {
    Value::from_iter([("Column", Value::from_object(ColumnClass))])
}

/// dbt's `Column` class: its class methods `translate_type`,
/// `numeric_type` and `string_type`.
#[derive(Debug)]
struct ColumnClass;

/// dbt-adapters' `Column.TYPE_LABELS`, which dbt-duckdb keeps: upper-case
/// label to the warehouse's type name.
const TYPE_LABELS: &[(&str, &str)] = &[("STRING", "TEXT")];

impl fmt::Display for ColumnClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<class Column>")
    }
}

impl Object for ColumnClass {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let text = |i: usize| -> Result<String, Error> {
            args.get(i)
                .filter(|v| !v.is_undefined() && !v.is_none())
                .map(|v| v.to_string())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::MissingArgument,
                        format!("`api.Column.{method}` needs argument {}", i + 1),
                    )
                })
        };
        match method {
            // As dbt's `Column.translate_type`: the label's type, else the name as given.
            "translate_type" => {
                let dtype = text(0)?;
                let upper = dtype.to_uppercase();
                Ok(Value::from(
                    TYPE_LABELS
                        .iter()
                        .find(|(label, _)| *label == upper)
                        .map_or(dtype, |(_, t)| (*t).to_owned()),
                ))
            }
            // As dbt's `Column.numeric_type`: `dtype(precision,scale)`, or
            // `dtype` alone when either is none.
            "numeric_type" => {
                let dtype = text(0)?;
                let part = |i: usize| args.get(i).filter(|v| !v.is_undefined() && !v.is_none());
                Ok(Value::from(match (part(1), part(2)) {
                    (Some(p), Some(s)) => format!("{dtype}({p},{s})"),
                    _ => dtype,
                }))
            }
            // As dbt's `Column.string_type`.
            "string_type" => Ok(Value::from(format!("character varying({})", text(0)?))),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("api.Column has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("api", api());
        env.render_str(&format!("{{{{ {expr} }}}}"), ()).unwrap()
    }

    #[test]
    fn column_type_helpers_match_dbt_duckdb() {
        // dbt-adapters' TYPE_LABELS map only STRING; other names pass through as given.
        assert_eq!(eval("api.Column.translate_type('string')"), "TEXT");
        assert_eq!(eval("api.Column.translate_type('String')"), "TEXT");
        assert_eq!(eval("api.Column.translate_type('integer')"), "integer");
        assert_eq!(eval("api.Column.translate_type('Timestamp')"), "Timestamp");
        assert_eq!(
            eval("api.Column.numeric_type('numeric', 28, 6)"),
            "numeric(28,6)"
        );
        assert_eq!(
            eval("api.Column.numeric_type('numeric', none, 6)"),
            "numeric"
        );
        assert_eq!(eval("api.Column.string_type(10)"), "character varying(10)");
    }
}
