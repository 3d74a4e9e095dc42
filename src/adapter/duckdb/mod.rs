//! DuckDB through the `duckdb` crate (bundled): one [`Database`] handle per
//! invocation, one cloned connection per worker thread.
//!
//! Opening a file is in `open`, a connection and the shared catalog in
//! `connection`, the conversion of DuckDB values in `values`.

mod connection;
mod open;
mod values;

use std::path::Path;
use std::sync::Arc;

use crate::adapter::duckdb::connection::db_error;
use crate::adapter::duckdb::open::{extension_error, open_error, open_with, OPEN_SETTINGS};
use crate::error::{Error, ErrorKind, Result};
use crate::project::Target;
use crate::warehouse::catalog::Catalog;
use crate::warehouse::connection::Connection;
use crate::warehouse::engine::Warehouse;

pub use crate::adapter::duckdb::connection::DuckDbConnection;
pub use crate::adapter::duckdb::open::open_connection;
pub use crate::adapter::duckdb::values::{value_to_cell, value_to_json, value_to_string};

/// An open DuckDB database.
pub struct Database {
    conn: duckdb::Connection,
    path: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish()
    }
}

impl Database {
    /// Opens (creating if needed) the target's DuckDB file, loads its
    /// extensions and applies its settings.
    ///
    /// Errors: [`ErrorKind::Database`]; a file locked by another process
    /// says so, with a hint.
    pub fn open(target: &Target) -> Result<Database> {
        if target.path != ":memory:" {
            if let Some(parent) = Path::new(&target.path).parent() {
                if !parent.as_os_str().is_empty() && !parent.exists() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
                }
            }
        }
        let conn =
            open_connection(&target.path, &target.settings).map_err(|e| open_error(target, &e))?;
        Database::configure(conn, target)
    }

    /// Opens the target's existing DuckDB file read-only (DuckDB's
    /// `READ_ONLY` access mode): nothing done through it can change the
    /// file, and other read-only readers may share it. For commands that
    /// only look, as `sluice show`.
    ///
    /// Errors: [`ErrorKind::MissingFile`] when the file does not exist
    /// (with a hint to run `sluice build`); [`ErrorKind::Database`] when it
    /// cannot be opened (locked by a writer, not a DuckDB file).
    pub fn open_read_only(target: &Target) -> Result<Database> {
        if target.path == ":memory:" {
            return Database::open(target);
        }
        if !Path::new(&target.path).exists() {
            return Err(Error::new(
                ErrorKind::MissingFile,
                format!("the DuckDB database `{}` does not exist yet", target.path),
            )
            .with_hint("run `sluice build` first: previews read the tables it builds"));
        }
        let conn =
            open_with(&target.path, &target.settings, true).map_err(|e| open_error(target, &e))?;
        Database::configure(conn, target)
    }

    /// Wraps an opened connection: loads the target's extensions and
    /// applies its settings.
    fn configure(conn: duckdb::Connection, target: &Target) -> Result<Database> {
        let db = Database {
            conn,
            path: target.path.clone(),
        };
        for ext in &target.extensions {
            db.conn
                .execute_batch(&format!("load {ext};"))
                .or_else(|_| {
                    db.conn
                        .execute_batch(&format!("install {ext}; load {ext};"))
                })
                .map_err(|e| extension_error(ext, &e))?;
        }
        for attachment in &target.attach {
            let sql = attachment.to_sql();
            db.conn.execute_batch(&sql).map_err(|e| {
                Error::new(
                    ErrorKind::Database,
                    format!("could not attach `{}`", attachment.path),
                )
                .with_note(e.to_string().lines().next().unwrap_or_default().to_owned())
                .with_note(format!("while running: {sql}"))
                .with_hint("check the `attach:` entry of profiles.yml: the path must exist for `read_only`, and `type` must be one DuckDB can attach")
            })?;
        }
        for (k, v) in &target.settings {
            if OPEN_SETTINGS.contains(&k.as_str()) {
                continue;
            }
            db.conn
                // GLOBAL: every connection cloned from this one (one per
                // worker thread) sees it, as each dbt-duckdb cursor does.
                .execute_batch(&format!("set global {k} = '{}'", v.replace('\'', "''")))
                .map_err(|e| db_error(&e, None))?;
        }
        Ok(db)
    }

    /// A new connection to the same database, for another thread.
    ///
    /// Errors: [`ErrorKind::Database`].
    pub fn connect(&self) -> Result<DuckDbConnection> {
        let conn = self.conn.try_clone().map_err(|e| db_error(&e, None))?;
        // SIGINT cancels what this connection runs (see warehouse::interrupt).
        let handle = conn.interrupt_handle();
        crate::warehouse::interrupt::register(Box::new(move || handle.interrupt()));
        Ok(DuckDbConnection {
            conn,
            catalog: None,
        })
    }

    /// A connection that answers `relation_type` from `catalog` instead of
    /// querying DuckDB; for a run, where only sluice changes the catalog.
    ///
    /// Errors: [`ErrorKind::Database`].
    pub fn connect_cached(&self, catalog: Arc<Catalog>) -> Result<DuckDbConnection> {
        Ok(DuckDbConnection {
            catalog: Some(catalog),
            ..self.connect()?
        })
    }

    /// The DuckDB version string (`v1.2.0`).
    pub fn duckdb_version(&self) -> String {
        self.conn
            .query_row("select version()", [], |r| r.get::<_, String>(0))
            .unwrap_or_default()
    }
}

impl Warehouse for Database {
    fn adapter_type(&self) -> &'static str {
        "duckdb"
    }

    fn version(&self) -> String {
        format!("DuckDB {}", self.duckdb_version())
    }

    fn connect(&self) -> Result<Box<dyn Connection>> {
        Ok(Box::new(Database::connect(self)?))
    }

    fn connect_cached(&self, catalog: Arc<Catalog>) -> Result<Box<dyn Connection>> {
        Ok(Box::new(Database::connect_cached(self, catalog)?))
    }
}

/// Rows of values as text, `None` for NULL.
pub type TextRows = Vec<Vec<Option<String>>>;

/// Runs `select` on an in-memory DuckDB and returns its columns as
/// `(name, DuckDB type)` and its rows with every value cast to DuckDB's
/// text (`None` for NULL): how a seed is read and typed for a warehouse
/// without a CSV reader of its own, exactly as a DuckDB build reads it.
///
/// Errors: [`ErrorKind::Database`] with DuckDB's message.
pub fn read_text_rows(select: &str) -> Result<(Vec<(String, String)>, TextRows)> {
    let conn = open_connection(":memory:", &Default::default())
        .map_err(|e| Error::new(ErrorKind::Database, e))?;
    let conn = DuckDbConnection {
        conn,
        catalog: None,
    };
    let columns = conn.describe(select)?;
    let rows = conn.query(&format!(
        "select columns(*)::varchar from ({select}) as __sluice_rows"
    ))?;
    Ok((columns, rows))
}

/// Whether DuckDB's parser accepts `sql` (no binding: tables need not
/// exist), for [`crate::sql::parse`]'s fallback. Without DuckDB at hand,
/// it counts as a rejection.
pub fn parser_accepts(sql: &str) -> bool {
    let Ok(conn) = open_connection(":memory:", &Default::default()) else {
        return false;
    };
    let json: Result<String, _> =
        conn.query_row("select json_serialize_sql(?)", [sql], |r| r.get(0));
    match json {
        Ok(json) => serde_json::from_str::<serde_json::Value>(&json)
            .map(|v| v["error"] != serde_json::Value::Bool(true))
            .unwrap_or(false),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdbs_parser_accepts_what_sqlparser_does_not() {
        assert!(parser_accepts("select [y * 2 for y in [1, 2]]"));
        assert!(parser_accepts("from t select a"));
        assert!(parser_accepts("select * exclude (a) from t"));
        assert!(!parser_accepts("select a,\n  b frm t where"));
    }
}
