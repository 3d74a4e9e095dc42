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
pub mod microbatch;
pub mod seed;
mod seed_copy;
pub mod seed_csv;
pub mod snapshot;
mod snapshot_errors;
mod snapshot_keys;

use minijinja::Value;

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
