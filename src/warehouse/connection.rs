//! What sluice needs from any warehouse connection: the [`Connection`]
//! trait the materializations, tests and templates call, and the shapes of
//! what it returns. DuckDB and PostgreSQL implement it in
//! [`crate::adapter`]; callers never see which.

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
    /// The adapter this connection belongs to, as profiles.yml's `type`
    /// (`duckdb`, `postgres`).
    fn adapter_type(&self) -> &'static str;

    /// Whether the engine runs several statements as one transaction, DDL
    /// included (DuckDB, PostgreSQL). Spark does not: its materializations
    /// build under an intermediate name and publish last, so a failure
    /// leaves the previous relation, but a crash between publishing steps
    /// can leave it dropped (docs/decisions/spark-connect.md).
    fn transactional(&self) -> bool {
        true
    }

    /// The engine's type for a column DuckDB's CSV reader typed
    /// `duckdb_type` (`DECIMAL(10,2)`, `VARCHAR`): how a seed read by DuckDB
    /// gets its table on another warehouse, so both hold the same values.
    /// The default is DuckDB's own name.
    fn column_type_for(&self, duckdb_type: &str) -> String {
        duckdb_type.to_owned()
    }

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
        Ok(name_type_pairs(rows))
    }

    /// The columns a query returns, as `(name, type)` in select order, with
    /// the engine's type names (DuckDB's `DECIMAL(10,2)`, PostgreSQL's
    /// `numeric(10,2)`), without running it. The default asks DuckDB's
    /// `describe`.
    ///
    /// Errors: [`crate::ErrorKind::Database`] when the query does not bind.
    fn describe(&self, query: &str) -> Result<Vec<(String, String)>> {
        Ok(name_type_pairs(self.query(&format!("describe {query}"))?))
    }

    /// `(database, schema, identifier, table_type)` of every relation the
    /// warehouse holds, `table_type` as information_schema's (`BASE TABLE`,
    /// `VIEW`); what a run's `Catalog` starts from.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn relations(&self) -> Result<Vec<[String; 4]>> {
        information_schema_relations(self)
    }

    /// `(database, schema, identifier, column)` of every column of every
    /// relation, in column order, for column lineage.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn all_columns(&self) -> Result<Vec<[String; 4]>> {
        information_schema_columns(self)
    }

    /// The relation `database.schema.identifier`, matched ignoring case, as
    /// the warehouse names it: `[database, schema, identifier, table_type]`
    /// (`BASE TABLE`, `VIEW`), or `None`; what dbt's `adapter.get_relation`
    /// answers. The default reads `information_schema.tables`.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn find_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<[String; 4]>> {
        Ok(self
            .query(&format!(
                "select table_catalog, table_schema, table_name, table_type from information_schema.tables \
                 where lower(table_catalog) = lower({}) and lower(table_schema) = lower({}) and lower(table_name) = lower({})",
                literal(database),
                literal(schema),
                literal(identifier)
            ))?
            .first()
            .map(|r| [text(r, 0), text(r, 1), text(r, 2), text(r, 3)]))
    }

    /// `[schema, identifier, table_type]` of every relation in `schema`,
    /// sorted by name: dbt's `list_relations_without_caching`. The default
    /// reads `information_schema.tables`.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn schema_relations(&self, database: &str, schema: &str) -> Result<Vec<[String; 3]>> {
        Ok(self
            .query(&format!(
                "select table_schema, table_name, table_type from information_schema.tables \
                 where lower(table_schema) = lower({}) and lower(table_catalog) = lower({}) order by table_name",
                literal(schema),
                literal(database)
            ))?
            .iter()
            .map(|r| [text(r, 0), text(r, 1), text(r, 2)])
            .collect())
    }

    /// The schema names of `database`, sorted: dbt's `list_schemas`. The
    /// default reads `information_schema.schemata`.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn schema_names(&self, database: &str) -> Result<Vec<String>> {
        Ok(self
            .query(&format!(
                "select schema_name from information_schema.schemata where lower(catalog_name) = lower({}) order by schema_name",
                literal(database)
            ))?
            .iter()
            .map(|r| text(r, 0))
            .collect())
    }

    /// `(database, schema, identifier, column, type)` of every column of
    /// every relation, in column order, for catalog.json. The default reads
    /// `information_schema.columns` (DuckDB, PostgreSQL).
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn column_types(&self) -> Result<Vec<[String; 5]>> {
        Ok(self
            .query(
                "select table_catalog, table_schema, table_name, column_name, data_type from information_schema.columns \
                 where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2, 3, ordinal_position",
            )?
            .iter()
            .map(|r| [text(r, 0), text(r, 1), text(r, 2), text(r, 3), text(r, 4)])
            .collect())
    }

    /// The tables' row counts where the engine keeps them without counting,
    /// as `((database, schema, table), rows)`, with a sentence saying where
    /// they come from (catalog.json's `row_count` description). `None`
    /// (the default) when it keeps none.
    ///
    /// Errors: [`crate::ErrorKind::Database`] if the catalog cannot be read.
    fn row_counts(&self) -> Result<Option<RowCounts>> {
        Ok(None)
    }

    /// Loads rows into the existing table `relation` through the engine's
    /// bulk path (PostgreSQL's `COPY ... FROM STDIN`), inside whatever
    /// transaction the connection is in. `columns` name the table's columns
    /// the values fill, in order; each value is text the column's type
    /// parses, `None` for NULL. Returns the number of rows loaded.
    ///
    /// Errors: [`crate::ErrorKind::Database`]; engines without a bulk path
    /// (DuckDB reads seed files itself) say so.
    fn copy_rows(
        &self,
        relation: &Relation,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<u64> {
        let _ = (columns, rows);
        Err(crate::error::Error::new(
            crate::error::ErrorKind::Database,
            format!("this warehouse has no bulk load path for `{relation}`"),
        ))
    }

    /// Tells a connection with a catalog cache that `relation` now exists as
    /// `kind` (or no longer exists, for `None`). Called by the
    /// materializations after a committed change; a no-op without a cache.
    fn record_relation(&self, relation: &Relation, kind: Option<RelationType>) {
        let _ = (relation, kind);
    }
}

/// Row counts by `(database, schema, table)` and where they come from:
/// what [`Connection::row_counts`] returns.
pub type RowCounts = (&'static str, Vec<([String; 3], i64)>);

/// Text cell `i` of a catalog row, empty for NULL.
fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// `(database, schema, identifier, table_type)` of every user relation,
/// from `information_schema.tables`: [`Connection::relations`]' default.
///
/// Errors: [`crate::ErrorKind::Database`].
pub fn information_schema_relations<C: Connection + ?Sized>(conn: &C) -> Result<Vec<[String; 4]>> {
    Ok(conn
        .query(
            "select table_catalog, table_schema, table_name, table_type from information_schema.tables \
             where table_schema not in ('information_schema', 'pg_catalog') and table_schema not like 'pg_temp%' and table_schema not like 'pg_toast%'",
        )?
        .iter()
        .map(|r| [text(r, 0), text(r, 1), text(r, 2), text(r, 3)])
        .collect())
}

/// `(database, schema, identifier, column)` of every column of every user
/// relation, in column order, from `information_schema.columns`:
/// [`Connection::all_columns`]' default.
///
/// Errors: [`crate::ErrorKind::Database`].
pub fn information_schema_columns<C: Connection + ?Sized>(conn: &C) -> Result<Vec<[String; 4]>> {
    Ok(conn
        .query(
            "select table_catalog, table_schema, table_name, column_name from information_schema.columns \
             where table_schema not in ('information_schema', 'pg_catalog') \
             order by table_catalog, table_schema, table_name, ordinal_position",
        )?
        .iter()
        .map(|r| [text(r, 0), text(r, 1), text(r, 2), text(r, 3)])
        .collect())
}

/// The first two cells of each row, `(name, type)`, skipping rows where
/// either is NULL: how column listings come back from catalog queries.
pub fn name_type_pairs(rows: Vec<Vec<Option<String>>>) -> Vec<(String, String)> {
    rows.into_iter()
        .filter_map(|r| Some((r.first()?.clone()?, r.get(1)?.clone()?)))
        .collect()
}
