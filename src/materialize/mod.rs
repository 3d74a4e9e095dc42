//! Materializations: turning a compiled model or a seed into a relation.
//!
//! The SQL comes from macros in templates/ (`create_table_as`,
//! `create_view_as`, `rename_relation`, `drop_relation`, `load_csv_rows`),
//! which a project can override. The order of operations is fixed here and
//! always runs in one transaction: build under an intermediate name, drop
//! the old relation, rename the new one into place. A failure rolls back and
//! leaves the previous relation as it was (see docs/decisions/atomic-swap.md).
//! A model with an enforced contract is checked before any of it runs
//! ([`contract`]), and its table is built with its declared columns and
//! constraints, inside the same swap.

mod call;
pub mod contract;
pub mod external;
pub mod incremental;
pub mod seed_csv;
pub mod snapshot;
mod snapshot_errors;

use std::collections::HashMap;
use std::path::Path;

use minijinja::Value;
use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::project::config::Materialization;
use crate::render::Renderer;
use crate::warehouse::connection::{Connection, RelationType};
use crate::warehouse::relation::Relation;

/// Suffix of the intermediate relation a table or view is built under.
pub const TMP_SUFFIX: &str = "__sluice_tmp";

/// What a successful materialization reports (dbt's adapter_response).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Short status shown in brackets: `OK`, `INSERT 100`.
    pub code: String,
    /// Rows affected, when known.
    pub rows: Option<i64>,
}

pub(crate) use call::{call, rel};

/// The statements that swap `intermediate` into `target`'s place.
pub(crate) fn swap_statements(
    renderer: &Renderer,
    conn: &dyn Connection,
    target: &Relation,
    intermediate: &Relation,
    new_type: RelationType,
) -> Result<Vec<String>> {
    let mut stmts = Vec::new();
    if let Some(old) = conn.relation_type(target)? {
        stmts.push(call(
            renderer,
            "drop_relation",
            &[rel(target), Value::from(old.as_str())],
        )?);
    }
    stmts.push(call(
        renderer,
        "rename_relation",
        &[
            rel(intermediate),
            Value::from(target.identifier.clone()),
            Value::from(new_type.as_str()),
        ],
    )?);
    Ok(stmts)
}

/// Statements to clear a leftover intermediate relation from a crashed run.
pub(crate) fn clear_intermediate(
    renderer: &Renderer,
    conn: &dyn Connection,
    intermediate: &Relation,
) -> Result<Vec<String>> {
    match conn.relation_type(intermediate)? {
        Some(t) => Ok(vec![call(
            renderer,
            "drop_relation",
            &[rel(intermediate), Value::from(t.as_str())],
        )?]),
        None => Ok(Vec::new()),
    }
}

/// The relation a node builds.
pub(crate) fn relation_of(node: &Node) -> Result<&Relation> {
    node.relation.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!("`{}` has no relation", node.unique_id),
        )
    })
}

/// Creates the schema of `relation` if it does not exist.
///
/// Errors: [`ErrorKind::Database`].
pub fn ensure_schema(
    renderer: &Renderer,
    conn: &dyn Connection,
    relation: &Relation,
) -> Result<()> {
    conn.execute(&call(renderer, "create_schema", &[rel(relation)])?)
}

/// Builds a `view` or `table` model from its compiled SQL, atomically.
///
/// With an enforced contract (dbt's `contract: {enforced: true}`), the
/// model's columns are checked first ([`contract::assert_columns_equivalent`])
/// and a table is created with its declared columns and constraints, then
/// filled ([`contract::create_table_statement`]); a constraint the rows
/// violate fails the transaction.
///
/// Errors: [`ErrorKind::Config`] for an unknown materialization;
/// [`ErrorKind::Contract`] when the columns break the contract;
/// [`ErrorKind::Database`] when the warehouse rejects the SQL or a
/// constraint. In every case the old relation is kept.
pub fn run_model(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    compiled: &str,
) -> Result<Outcome> {
    let target = relation_of(node)?;
    let intermediate = target.with_identifier(&format!("{}{TMP_SUFFIX}", target.identifier));
    let code = crate::sql::strip_trailing_semicolons(compiled);
    let enforced = crate::project::config::Contract::of(&node.config).enforced;
    if enforced {
        contract::assert_columns_equivalent(renderer, conn, node, code)?;
    }
    let sql = Value::from(code.to_owned());
    let (create, kind) = match node.config.materialization() {
        Materialization::Table if enforced => (
            contract::create_table_statement(renderer, node, &intermediate, code)?,
            RelationType::Table,
        ),
        Materialization::Table => (
            call(
                renderer,
                "create_table_as",
                &[Value::from(false), rel(&intermediate), sql],
            )?,
            RelationType::Table,
        ),
        Materialization::View => (
            call(renderer, "create_view_as", &[rel(&intermediate), sql])?,
            RelationType::View,
        ),
        other => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "model `{}` has materialized `{}`, which sluice does not support yet",
                    node.name,
                    other.as_str()
                ),
            )
            .with_hint("use `view`, `table`, `incremental`, `external` or `ephemeral`"))
        }
    };
    let mut stmts = clear_intermediate(renderer, conn, &intermediate)?;
    stmts.push(create);
    stmts.extend(swap_statements(
        renderer,
        conn,
        target,
        &intermediate,
        kind,
    )?);
    conn.execute_in_transaction(&stmts).map_err(|e| {
        if e.message().contains("main key table") {
            e.with_hint("DuckDB cannot drop a table that another table's `foreign_key` constraint references, so a referenced model builds once but cannot be rebuilt (dbt-duckdb fails alike): drop the foreign key, or drop the referencing table first")
        } else {
            e
        }
    })?;
    conn.record_relation(&intermediate, None);
    conn.record_relation(target, Some(kind));
    Ok(Outcome {
        code: "OK".into(),
        rows: None,
    })
}

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
