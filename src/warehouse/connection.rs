//! What sluice needs from any warehouse connection: the [`Connection`]
//! trait the materializations, tests and templates call, and the shapes of
//! what it returns. DuckDB implements it in [`crate::adapter::duckdb`]; the
//! next engines implement the same trait without touching their callers.

use crate::error::Result;
pub use crate::warehouse::relation::RelationType;
use crate::warehouse::relation::{literal, Relation};

/// A query result with typed values: what `run_query` and `statement`
/// hand to templates (as dbt's agate table).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names, in select order.
    pub columns: Vec<String>,
    /// Rows; each value is JSON (numbers, text, booleans, null; dates and
    /// timestamps as ISO 8601 text; decimals as numbers).
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// One value of a [`CellTable`], typed the way dbt's agate type tester types
/// what the database driver returns (dbt-common's `build_type_tester`), so a
/// preview prints and serializes each column as `dbt show` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A boolean (agate `Boolean`).
    Boolean(bool),
    /// A whole number from an integer column (dbt's agate `Integer`).
    Integer(i128),
    /// A decimal or floating-point number (agate `Number`), as exact
    /// decimal text (`12.50`, `0.1`, `-3`, `NaN`, `inf`).
    Number(String),
    /// A date (agate `Date`), as `YYYY-MM-DD`.
    Date(String),
    /// A timestamp (agate `DateTime`), as Python's `str(datetime)`:
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    DateTime(String),
    /// Anything else, as text (agate `Text`): strings, times, intervals,
    /// UUIDs, and lists and structs as JSON.
    Text(String),
}

/// A query result whose values keep their kind, for previews (`sluice show`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellTable {
    /// Column names, as the database returns them, in select order.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

/// How a transaction body that succeeded wants its transaction to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxEnd {
    /// Keep what it did.
    Commit,
    /// Undo it (`snapshot --dry-run`): the outcome, not an error.
    Rollback,
}

/// One connection to the warehouse, used by one worker thread at a time.
pub trait Connection: Send {
    /// Runs one or more statements outside an explicit transaction.
    ///
    /// Errors: [`crate::ErrorKind::Database`] with the engine's message.
    fn execute(&self, sql: &str) -> Result<()>;

    /// Runs `statements` in one transaction: all take effect, or (on the
    /// first error) none do.
    ///
    /// Errors: [`crate::ErrorKind::Database`] with the failing statement's message.
    fn execute_in_transaction(&self, statements: &[String]) -> Result<()>;

    /// Runs `body` inside one transaction on this connection: committed when
    /// `body` returns [`TxEnd::Commit`], rolled back when it returns
    /// [`TxEnd::Rollback`] (a dry run) or fails, or the commit fails.
    ///
    /// Errors: `body`'s error, or [`crate::ErrorKind::Database`] from the commit.
    fn transaction(&self, body: &mut dyn FnMut() -> Result<TxEnd>) -> Result<()>;

    /// Runs a query and returns every row with each value as text (`None` for NULL).
    ///
    /// Errors: [`crate::ErrorKind::Database`].
    fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>>;

    /// Runs one statement and returns its result with column names and typed values.
    ///
    /// Errors: [`crate::ErrorKind::Database`].
    fn query_table(&self, sql: &str) -> Result<Table>;

    /// Runs one query and returns its result with each value typed as a
    /// [`Cell`], for previews.
    ///
    /// Errors: [`crate::ErrorKind::Database`].
    fn query_cells(&self, sql: &str) -> Result<CellTable>;

    /// Whether `relation` exists, and as what.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn relation_type(&self, relation: &Relation) -> Result<Option<RelationType>>;

    /// The columns of `relation` in the warehouse, as `(name, data type)` in
    /// column order, read from `information_schema.columns` (which DuckDB
    /// and PostgreSQL both have); empty when the relation does not exist.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn columns(&self, relation: &Relation) -> Result<Vec<(String, String)>> {
        let rows = self.query(&format!(
            "select column_name, data_type from information_schema.columns where table_catalog = {} and table_schema = {} and table_name = {} order by ordinal_position",
            literal(&relation.database),
            literal(&relation.schema),
            literal(&relation.identifier)
        ))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r.first()?.clone()?, r.get(1)?.clone()?)))
            .collect())
    }

    /// Tells a connection with a catalog cache that `relation` now exists as
    /// `kind` (or no longer exists, for `None`). Called by the
    /// materializations after a committed change; a no-op without a cache.
    fn record_relation(&self, relation: &Relation, kind: Option<RelationType>) {
        let _ = (relation, kind);
    }
}
