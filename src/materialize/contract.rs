//! Enforcing a model's contract when it runs, before anything is written:
//! DuckDB describes the model's SQL (as a query of zero rows, never run)
//! and the contract's types, and the two are compared as dbt's
//! `assert_columns_equivalent` does. A contracted table is created from
//! its declared columns and constraints, then filled, as dbt-duckdb does.

use minijinja::Value;

use crate::contract::constraints::table_ddl;
use crate::contract::{compare, failure_message, ColumnType, Mismatches, COLUMNS_MISSING};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::materialize::call::call;
use crate::render::Renderer;
use crate::warehouse::connection::Connection;
use crate::warehouse::relation::Relation;

/// `(name, type)` of each column of `sql`'s result, as the warehouse types them.
fn describe(conn: &dyn Connection, sql: &str) -> Result<Vec<ColumnType>> {
    Ok(conn
        .describe(sql)?
        .into_iter()
        .map(|(name, ty)| ColumnType::new(name, Some(ty)))
        .collect())
}

/// Checks that `sql`, the model's compiled SQL, produces exactly the
/// columns of `node`'s YAML (names case-insensitive, count, and types as
/// DuckDB spells them), without running it: dbt's
/// `get_assert_columns_equivalent`.
///
/// Errors: [`ErrorKind::Contract`] with dbt's message and mismatch table
/// (or dbt's message for a contract without columns);
/// [`ErrorKind::Config`] when a `data_type` is not a DuckDB type;
/// [`ErrorKind::Database`] when DuckDB rejects the model's SQL.
pub fn assert_columns_equivalent(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    sql: &str,
) -> Result<()> {
    if node.columns.is_empty() {
        return Err(Error::new(ErrorKind::Contract, COLUMNS_MISSING).with_hint(format!(
            "declare the columns of `{}` with their `data_type` under `columns:` in its schema YAML",
            node.name
        )));
    }
    let empty = call(
        renderer,
        "get_empty_subquery_sql",
        &[Value::from(sql.to_owned())],
    )?;
    let definition = describe(conn, &empty)?;
    // dbt's `model['columns']`: each column by name.
    let columns: std::collections::BTreeMap<&str, serde_json::Value> = node
        .columns
        .iter()
        .map(|c| {
            let entry = serde_json::json!({
                "name": c.name,
                "data_type": c.data_type,
                "quote": c.quote,
            });
            (c.name.as_str(), entry)
        })
        .collect();
    let schema_sql = call(
        renderer,
        "get_empty_schema_sql",
        &[Value::from_serialize(&columns)],
    )?;
    // The contract's names as the YAML writes them (quoted in the query),
    // with DuckDB's spelling of each type.
    let contract = describe(conn, &schema_sql).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!(
                "the contract of model `{}` has a `data_type` DuckDB does not know: {}",
                node.name,
                e.message()
            ),
        )
        .with_hint(
            "use DuckDB type names (integer, bigint, varchar, decimal(10,2), date, timestamp, ...)",
        )
    })?;
    match compare(&contract, &definition) {
        None => Ok(()),
        Some(mismatches) => Err(Error::new(ErrorKind::Contract, failure_message(&mismatches))
            .with_source(Mismatches(mismatches))
            .with_hint(format!(
                "make the SQL of `{}` produce the columns its YAML declares (cast to the declared type), or change the YAML",
                node.name
            ))),
    }
}

/// The statement that builds `node`'s contracted table at `relation` from
/// `sql`: `create table <relation> (<columns, types and constraints>)`
/// then `insert into <relation> (<columns>) select <columns> from (<sql>)`,
/// as dbt-duckdb's `create_table_as` with an enforced contract.
///
/// Errors: [`ErrorKind::Jinja`] from the macros.
pub fn create_table_statement(
    renderer: &Renderer,
    node: &Node,
    relation: &Relation,
    sql: &str,
) -> Result<String> {
    let ddl = table_ddl(&node.columns, &node.constraints);
    let strings =
        |v: &[String]| Value::from(v.iter().cloned().map(Value::from).collect::<Vec<_>>());
    let columns_and_constraints = call(
        renderer,
        "get_table_columns_and_constraints",
        &[strings(&ddl.columns), strings(&ddl.constraints)],
    )?;
    call(
        renderer,
        "create_table_with_constraints",
        &[
            Value::from_object(relation.clone()),
            Value::from(columns_and_constraints),
            strings(&ddl.names),
            Value::from(sql.to_owned()),
        ],
    )
}
