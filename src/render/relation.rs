//! The relation object `ref()`, `source()` and `this` return in templates.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

/// A table or view in the warehouse: `database.schema.identifier`.
///
/// Renders quoted, as dbt-duckdb does (`"shop"."main"."orders"`); `include()`
/// drops parts like dbt's `Relation.include`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Relation {
    /// Database (DuckDB catalog) name.
    pub database: String,
    /// Schema name.
    pub schema: String,
    /// Table or view name.
    pub identifier: String,
    /// Whether the database part is rendered.
    #[serde(skip)]
    pub include_database: bool,
    /// Whether the schema part is rendered.
    #[serde(skip)]
    pub include_schema: bool,
    /// An ephemeral model: rendered as its bare CTE name (`__dbt__cte__x`).
    #[serde(skip)]
    pub cte: bool,
    /// `--empty`: rendered as a subquery that returns no rows, as dbt's
    /// `render_limited` (`(select * from x where false limit 0)`; DuckDB needs
    /// no alias, and none is added so a user's own `as x` still works).
    #[serde(skip)]
    pub empty: bool,
}

impl Relation {
    /// A fully qualified relation.
    pub fn new(database: &str, schema: &str, identifier: &str) -> Relation {
        Relation {
            database: database.to_owned(),
            schema: schema.to_owned(),
            identifier: identifier.to_owned(),
            include_database: true,
            include_schema: true,
            cte: false,
            empty: false,
        }
    }

    /// The relation of an ephemeral model `name`: the CTE `__dbt__cte__<name>`.
    pub fn cte(name: &str) -> Relation {
        Relation {
            cte: true,
            ..Relation::new("", "", &format!("__dbt__cte__{name}"))
        }
    }

    /// The same relation with another identifier (for `__dbt_tmp` names).
    pub fn with_identifier(&self, identifier: &str) -> Relation {
        Relation {
            identifier: identifier.to_owned(),
            ..self.clone()
        }
    }

    /// `"schema"."identifier"` only.
    pub fn without_database(&self) -> Relation {
        Relation {
            include_database: false,
            ..self.clone()
        }
    }
}

/// Quotes an identifier for DuckDB: `"name"`, doubling embedded quotes.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `text` as a SQL string literal (`'it''s'`).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cte {
            return f.write_str(&self.identifier);
        }
        if self.empty {
            let full = Relation {
                empty: false,
                ..self.clone()
            };
            return write!(f, "(select * from {full} where false limit 0)");
        }
        let mut parts = Vec::with_capacity(3);
        if self.include_database && !self.database.is_empty() {
            parts.push(quote(&self.database));
        }
        if self.include_schema && !self.schema.is_empty() {
            parts.push(quote(&self.schema));
        }
        parts.push(quote(&self.identifier));
        f.write_str(&parts.join("."))
    }
}

impl Object for Relation {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "database" => Some(Value::from(self.database.clone())),
            "schema" => Some(Value::from(self.schema.clone())),
            "identifier" | "name" | "table" => Some(Value::from(self.identifier.clone())),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["database", "schema", "identifier"])
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "render" => Ok(Value::from(self.to_string())),
            "include" => {
                let kwargs = match args.last().map(|v| Kwargs::try_from(v.clone())) {
                    Some(Ok(k)) => k,
                    _ => Kwargs::from_iter(std::iter::empty::<(String, Value)>()),
                };
                let mut rel = (**self).clone();
                if let Some(v) = kwargs.get::<Option<bool>>("database")? {
                    rel.include_database = v;
                }
                if let Some(v) = kwargs.get::<Option<bool>>("schema")? {
                    rel.include_schema = v;
                }
                let _ = kwargs.get::<Option<bool>>("identifier")?;
                Ok(Value::from_object(rel))
            }
            "without_identifier" => Ok(Value::from(format!(
                "{}.{}",
                quote(&self.database),
                quote(&self.schema)
            ))),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("relation has no method `{method}`"),
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

    #[test]
    fn renders_quoted_like_dbt_duckdb() {
        let r = Relation::new("shop", "main", "orders");
        assert_eq!(r.to_string(), r#""shop"."main"."orders""#);
        assert_eq!(r.without_database().to_string(), r#""main"."orders""#);
        assert_eq!(quote("a\"b"), r#""a""b""#);
    }
}
