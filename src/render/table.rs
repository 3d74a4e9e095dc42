//! Query results as templates see them: dbt hands `run_query` and
//! `load_result(...).table` results to Jinja as agate tables, and macros
//! written for dbt read them as `table.rows`, `table.columns[0].values()`,
//! `table.columns['name'].values()`, `table.column_names` and
//! `row['name']` / `row[0]`. [`AgateTable`] answers the same calls.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{from_args, Enumerator, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::warehouse::connection::Table;

/// A query result shaped like an agate table. Iterating it yields its rows.
#[derive(Debug, Default)]
pub struct AgateTable {
    columns: Arc<Vec<String>>,
    rows: Vec<Value>,
    values: Vec<Vec<Value>>,
}

impl AgateTable {
    /// Wraps a query result.
    pub fn new(table: &Table) -> AgateTable {
        let columns = Arc::new(table.columns.clone());
        let values: Vec<Vec<Value>> = table
            .rows
            .iter()
            .map(|r| r.iter().map(Value::from_serialize).collect())
            .collect();
        let rows = values
            .iter()
            .map(|v| {
                Value::from_object(Row {
                    columns: columns.clone(),
                    values: v.clone(),
                })
            })
            .collect();
        AgateTable {
            columns,
            rows,
            values,
        }
    }

    fn column(&self, i: usize) -> Value {
        Value::from_object(Column {
            name: self.columns[i].clone(),
            values: self.values.iter().map(|r| r[i].clone()).collect(),
        })
    }

    fn position(&self, key: &Value) -> Option<usize> {
        match key.as_str() {
            Some(name) => self.columns.iter().position(|c| c == name),
            None => index(key, self.columns.len()),
        }
    }
}

/// A non-negative or Python-style negative index into a sequence of `len`.
fn index(key: &Value, len: usize) -> Option<usize> {
    let i = i64::try_from(key.clone()).ok()?;
    let i = if i < 0 { len as i64 + i } else { i };
    usize::try_from(i).ok().filter(|&i| i < len)
}

impl fmt::Display for AgateTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<agate.Table {} rows x {} columns>",
            self.rows.len(),
            self.columns.len()
        )
    }
}

impl Object for AgateTable {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some("rows") => Some(Value::from(self.rows.clone())),
            Some("columns") => Some(Value::from_object(Columns(self.clone()))),
            Some("column_names") => Some(Value::from_serialize(&*self.columns)),
            Some(_) => None,
            None => index(key, self.rows.len()).map(|i| self.rows[i].clone()),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.rows.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "print_table" => {
                eprintln!("{}", self.columns.join(" | "));
                for row in &self.values {
                    let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
                    eprintln!("{}", cells.join(" | "));
                }
                Ok(Value::from(""))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("agate table has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `table.columns`: indexable by position or by name.
#[derive(Debug)]
struct Columns(Arc<AgateTable>);

impl Object for Columns {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.position(key).map(|i| self.0.column(i))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.columns.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "keys" => Ok(Value::from_serialize(&*self.0.columns)),
            "values" => Ok(Value::from(
                (0..self.0.columns.len())
                    .map(|i| self.0.column(i))
                    .collect::<Vec<_>>(),
            )),
            // agate's MappedSequence: dbt_utils' get_query_results_as_dict
            // loops over `table.columns.items()`.
            "items" => Ok(Value::from(
                self.0
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, name)| Value::from(vec![Value::from(name.clone()), self.0.column(i)]))
                    .collect::<Vec<_>>(),
            )),
            "get" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                Ok(self
                    .get_value(&key)
                    .unwrap_or_else(|| default.unwrap_or(Value::from(()))))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("agate columns have no method `{method}`"),
            )),
        }
    }
}

/// One column: its `name` and `values()`; iterating it yields the values.
#[derive(Debug)]
struct Column {
    name: String,
    values: Vec<Value>,
}

impl Object for Column {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some("name") => Some(Value::from(self.name.clone())),
            Some(_) => None,
            None => index(key, self.values.len()).map(|i| self.values[i].clone()),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.values.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "values" => Ok(Value::from(self.values.clone())),
            "values_without_nulls" => Ok(Value::from(
                self.values
                    .iter()
                    .filter(|v| !v.is_none())
                    .cloned()
                    .collect::<Vec<_>>(),
            )),
            "values_distinct" => {
                let mut out: Vec<Value> = Vec::new();
                for v in &self.values {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::from(out))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("agate column has no method `{method}`"),
            )),
        }
    }
}

/// One row: indexable by position or by column name; iterating it yields the values.
#[derive(Debug)]
struct Row {
    columns: Arc<Vec<String>>,
    values: Vec<Value>,
}

impl Object for Row {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some(name) => self
                .columns
                .iter()
                .position(|c| c == name)
                .map(|i| self.values[i].clone()),
            None => index(key, self.values.len()).map(|i| self.values[i].clone()),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.values.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "keys" => Ok(Value::from_serialize(&*self.columns)),
            "values" => Ok(Value::from(self.values.clone())),
            "items" => Ok(Value::from(
                self.columns
                    .iter()
                    .zip(&self.values)
                    .map(|(c, v)| Value::from(vec![Value::from(c.clone()), v.clone()]))
                    .collect::<Vec<_>>(),
            )),
            "get" => Ok(self
                .get_value(&args.first().cloned().unwrap_or_default())
                .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::from(())))),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("agate row has no method `{method}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_is_a_mapping_of_name_to_column() {
        // As agate's MappedSequence, which dbt_utils' get_query_results_as_dict
        // reads with `table.columns.items()` and `column.values()`.
        let table = AgateTable::new(&Table {
            columns: vec!["a".into(), "b".into()],
            rows: vec![
                vec![serde_json::json!(1), serde_json::json!("x")],
                vec![serde_json::json!(2), serde_json::json!("y")],
            ],
        });
        let env = minijinja::Environment::new();
        let out = env
            .render_str(
                "{% for name, col in t.columns.items() %}{{ name }}={{ col.values() | join(',') }};{% endfor %}{{ t.columns.get('b').name }}|{{ t.columns.get('z', 'none') }}",
                minijinja::context! { t => Value::from_object(table) },
            )
            .unwrap();
        assert_eq!(out, "a=1,2;b=x,y;b|none");
    }
}
