//! Seeds on a warehouse without a CSV reader of its own (PostgreSQL, Spark):
//! DuckDB reads and types the file in memory, as a DuckDB build does (its
//! sniffer, `delimiter`), the types are mapped to the warehouse's, and the
//! rows go in through the engine's bulk path (`COPY ... FROM STDIN`; Spark's
//! `insert ... values`), inside one transaction with the swap where the
//! engine has transactions. So a seed holds the same values on every
//! warehouse; `column_types` name the warehouse's own types and are used as
//! written, the column read as text and cast by the warehouse.

use minijinja::Value;

use crate::error::Result;
use crate::manifest::Node;
use crate::materialize::{
    call, clear_intermediate, relation_of, swap_statements, Outcome, TMP_SUFFIX,
};
use crate::render::Renderer;
use crate::warehouse::connection::{Connection, RelationType, TxEnd};
use crate::warehouse::relation::quote;

/// Loads seed `node` from the CSV at `path` (absolute) into `conn`'s
/// warehouse by COPY. As dbt: without `full_refresh` an existing table keeps
/// its definition and is emptied and refilled (columns matched by name);
/// otherwise a new table replaces it atomically.
///
/// Errors: [`crate::ErrorKind::Database`] when DuckDB cannot read the file
/// or the warehouse rejects a value (the old table is kept).
pub(crate) fn run(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    path: &str,
    delimiter: &str,
    full_refresh: bool,
) -> Result<Outcome> {
    let target = relation_of(node)?;
    let configured: Vec<(String, String)> = match node.config.get("column_types") {
        Some(serde_json::Value::Object(types)) => types
            .iter()
            .filter_map(|(c, t)| Some((c.clone(), t.as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    // Configured columns are read as text: the warehouse casts them to the
    // type as written, which DuckDB may not know.
    let as_text: serde_json::Map<String, serde_json::Value> = configured
        .iter()
        .map(|(c, _)| (c.clone(), "VARCHAR".into()))
        .collect();
    let select = call(
        renderer,
        "load_csv_rows",
        &[
            Value::from(path.to_owned()),
            Value::from(delimiter.to_owned()),
            if as_text.is_empty() {
                Value::from(())
            } else {
                Value::from_serialize(&as_text)
            },
        ],
    )?;
    let (columns, rows) = crate::adapter::duckdb::read_text_rows(&select)?;
    let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    let existing = conn.relation_type(target)?;
    let mut loaded = 0;
    // Without transactions (Spark) emptying and refilling the table could
    // leave it empty: the table is rebuilt and swapped in instead.
    if existing == Some(RelationType::Table) && !full_refresh && conn.transactional() {
        conn.transaction(&mut || {
            conn.execute(&format!("delete from {target}"))?;
            loaded = conn.copy_rows(target, &names, &rows)?;
            Ok(TxEnd::Commit)
        })?;
    } else {
        let intermediate = target.with_identifier(&format!("{}{TMP_SUFFIX}", target.identifier));
        let ddl = columns
            .iter()
            .map(|(name, duck)| {
                let ty = configured
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(name))
                    .map(|(_, t)| t.clone())
                    .unwrap_or_else(|| conn.column_type_for(duck));
                format!("{} {ty}", quote(name))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut before = clear_intermediate(renderer, conn, &intermediate)?;
        before.push(format!("create table {intermediate} ({ddl})"));
        let after = swap_statements(renderer, conn, target, &intermediate, RelationType::Table)?;
        conn.transaction(&mut || {
            before.iter().try_for_each(|s| conn.execute(s))?;
            loaded = conn.copy_rows(&intermediate, &names, &rows)?;
            after.iter().try_for_each(|s| conn.execute(s))?;
            Ok(TxEnd::Commit)
        })?;
        conn.record_relation(&intermediate, None);
    }
    conn.record_relation(target, Some(RelationType::Table));
    let rows = i64::try_from(loaded).ok();
    Ok(Outcome {
        code: format!("INSERT {loaded}"),
        rows,
    })
}
