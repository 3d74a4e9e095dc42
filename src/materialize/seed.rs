//! Seeds: loading a CSV file into its table, as dbt's seed
//! materialization, and noticing a `column_types` change the existing table
//! does not have yet. DuckDB reads the file itself; other warehouses load
//! it through [`super::seed_copy`].

use std::collections::HashMap;
use std::path::Path;

use minijinja::Value;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::manifest::Node;
use crate::materialize::{
    call, clear_intermediate, rel, relation_of, seed_copy, seed_csv, swap_statements, Outcome,
    TMP_SUFFIX,
};
use crate::render::Renderer;
use crate::warehouse::connection::{Connection, RelationType};

/// The columns whose `column_types` config differs from the type they have
/// in seed `node`'s existing table, as `(column, warehouse type, configured
/// type)` with DuckDB's canonical names (`int` and `INTEGER` agree). Empty
/// when the table does not exist, no `column_types` are set, or a
/// configured type is not one DuckDB knows (loading reports that).
///
/// dbt keeps an existing seed table's definition unless `--full-refresh`,
/// so a changed `column_types` has no effect until then: this is what the
/// runner warns about.
///
/// Errors: [`ErrorKind::Database`] when the catalog cannot be read.
pub fn seed_type_drift(
    conn: &dyn Connection,
    node: &Node,
) -> Result<Vec<(String, String, String)>> {
    let Some(Json::Object(types)) = node.config.get("column_types") else {
        return Ok(Vec::new());
    };
    let target = relation_of(node)?;
    if types.is_empty() || conn.relation_type(target)? != Some(RelationType::Table) {
        return Ok(Vec::new());
    }
    let configured: Vec<(&String, String)> = types
        .iter()
        .filter_map(|(col, ty)| ty.as_str().map(|t| (col, t.to_owned())))
        .collect();
    let typeofs = configured
        .iter()
        .map(|(_, ty)| format!("typeof(null::{ty})"))
        .collect::<Vec<_>>()
        .join(", ");
    let Ok(canonical) = conn.query(&format!("select {typeofs}")) else {
        return Ok(Vec::new());
    };
    let Some(canonical) = canonical.into_iter().next() else {
        return Ok(Vec::new());
    };
    let existing: HashMap<String, String> = conn
        .columns(target)?
        .into_iter()
        .map(|(name, ty)| (name.to_lowercase(), ty))
        .collect();
    Ok(configured
        .into_iter()
        .zip(canonical)
        .filter_map(|((col, written), canonical)| {
            let have = existing.get(&col.to_lowercase())?;
            (canonical.as_deref() != Some(have.as_str()))
                .then(|| (col.clone(), have.clone(), written))
        })
        .collect())
}

/// Loads a seed CSV with DuckDB's CSV reader.
///
/// As dbt: without `full_refresh`, an existing seed table keeps its
/// definition and is emptied and refilled (columns matched by name); with
/// it, or when the table does not exist, the table is rebuilt from the
/// file. `column_types` and `delimiter` configs are honoured.
///
/// Errors: [`ErrorKind::MissingFile`] when the CSV is gone;
/// [`ErrorKind::Database`] when DuckDB cannot read or insert it.
pub fn run_seed(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    project_root: &Path,
    full_refresh: bool,
) -> Result<Outcome> {
    let target = relation_of(node)?;
    let file = project_root.join(&node.original_file_path);
    let abs =
        std::fs::canonicalize(&file).map_err(|e| Error::io("read", &node.original_file_path, e))?;
    let delimiter = node
        .config
        .get_str("delimiter")
        .unwrap_or_else(|| ",".into());
    if let [byte] = delimiter.as_bytes() {
        let bytes =
            std::fs::read(&abs).map_err(|e| Error::io("read", &node.original_file_path, e))?;
        seed_csv::check(&node.original_file_path, &bytes, *byte)?;
    }
    if conn.adapter_type() != "duckdb" {
        return seed_copy::run(
            renderer,
            conn,
            node,
            &abs.to_string_lossy(),
            &delimiter,
            full_refresh,
        );
    }
    let column_types = node
        .config
        .get("column_types")
        .map(Value::from_serialize)
        .unwrap_or(Value::from(()));
    let select = call(
        renderer,
        "load_csv_rows",
        &[
            Value::from(abs.to_string_lossy().into_owned()),
            Value::from(delimiter),
            column_types,
        ],
    )?;
    let existing = conn.relation_type(target)?;
    let stmts = match existing {
        Some(RelationType::Table) if !full_refresh => {
            vec![
                format!("delete from {target}"),
                format!("insert into {target} by name {select}"),
            ]
        }
        _ => {
            let intermediate =
                target.with_identifier(&format!("{}{TMP_SUFFIX}", target.identifier));
            let mut stmts = clear_intermediate(renderer, conn, &intermediate)?;
            stmts.push(call(
                renderer,
                "create_table_as",
                &[Value::from(false), rel(&intermediate), Value::from(select)],
            )?);
            stmts.extend(swap_statements(
                renderer,
                conn,
                target,
                &intermediate,
                RelationType::Table,
            )?);
            stmts
        }
    };
    conn.execute_in_transaction(&stmts)?;
    conn.record_relation(target, Some(RelationType::Table));
    let rows = conn
        .query(&format!("select count(*) from {target}"))?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse::<i64>().ok());
    Ok(Outcome {
        code: format!("INSERT {}", rows.unwrap_or(0)),
        rows,
    })
}
