//! DuckDB through the `duckdb` crate (bundled): one [`Database`] handle per
//! invocation, one cloned connection per worker thread.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};
use crate::project::Target;
use crate::warehouse::connection::{Cell, CellTable, Connection, RelationType, Table, TxEnd};
use crate::warehouse::relation::Relation;

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
        self.conn
            .try_clone()
            .map(|conn| DuckDbConnection {
                conn,
                catalog: None,
            })
            .map_err(|e| db_error(&e, None))
    }

    /// Reads every relation of the database once, for [`Database::connect_cached`].
    ///
    /// Errors: [`ErrorKind::Database`].
    pub fn catalog(&self) -> Result<Arc<Catalog>> {
        let conn = self.connect()?;
        let rows = conn.query(
            // Not information_schema.tables: its views cost ~15 ms to bind.
            "select database_name, schema_name, table_name, 'BASE TABLE' from duckdb_tables() where not internal \
             union all select database_name, schema_name, view_name, 'VIEW' from duckdb_views() where not internal",
        )?;
        let relations = rows
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                let rel = Relation::new(&text(0), &text(1), &text(2));
                (catalog_key(&rel), relation_type_of(&text(3)))
            })
            .collect();
        Ok(Arc::new(Catalog {
            relations: Mutex::new(relations),
        }))
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
    pub fn version(&self) -> String {
        self.conn
            .query_row("select version()", [], |r| r.get::<_, String>(0))
            .unwrap_or_default()
    }
}

/// Settings that only take effect when the database is opened, so they go
/// into DuckDB's open-time config rather than a `SET`.
const OPEN_SETTINGS: &[&str] = &[
    "autoinstall_known_extensions",
    "autoload_known_extensions",
    "allow_unsigned_extensions",
    "extension_directory",
];

/// Opens `path` (a file, or `:memory:`) with sluice's engine defaults: the
/// statically linked ICU extension registered, and extension autoinstall and
/// autoload off, so nothing is fetched from the network in the middle of a
/// build. `settings` (the profile's `settings:`) may turn them back on,
/// as dbt-duckdb passes its settings through to DuckDB's config.
///
/// Errors: DuckDB's, unchanged (callers word them).
pub fn open_connection(
    path: &str,
    settings: &std::collections::BTreeMap<String, String>,
) -> std::result::Result<duckdb::Connection, String> {
    open_with(path, settings, false)
}

/// [`open_connection`], read-only when `read_only` (DuckDB's `READ_ONLY`
/// access mode).
fn open_with(
    path: &str,
    settings: &std::collections::BTreeMap<String, String>,
    read_only: bool,
) -> std::result::Result<duckdb::Connection, String> {
    sluice_duckdb_icu::register()?;
    let config = || -> duckdb::Result<duckdb::Config> {
        let mode = if read_only {
            duckdb::AccessMode::ReadOnly
        } else {
            duckdb::AccessMode::Automatic
        };
        let mut config = duckdb::Config::default()
            .access_mode(mode)?
            .with("autoinstall_known_extensions", "false")?
            .with("autoload_known_extensions", "false")?;
        for key in OPEN_SETTINGS {
            if let Some(value) = settings.get(*key) {
                config = config.with(*key, value)?;
            }
        }
        Ok(config)
    };
    config()
        .and_then(|config| duckdb::Connection::open_with_flags(path, config))
        .map_err(|e| e.to_string())
}

/// The error for an extension that cannot be loaded: named, with what to do.
fn extension_error(ext: &str, err: &duckdb::Error) -> Error {
    Error::new(ErrorKind::Database, format!("could not load the DuckDB extension `{ext}`"))
        .with_note(err.to_string().lines().next().unwrap_or_default().to_owned())
        .with_hint(
            "icu, json, parquet and core_functions are built into sluice; others must be installed: \
             run `INSTALL <name>` once with network, or set `autoinstall_known_extensions: true` under the profile's `settings:`",
        )
}

/// The error for a database file that does not open: a lock held by
/// another process, a file that is no (complete) DuckDB database, or
/// anything else, each with what to do about it; the path's origin
/// (profiles.yml or sluice's embedded default) decides where to look.
fn open_error(target: &Target, msg: &str) -> Error {
    let path = &target.path;
    let first_line = msg.lines().next().unwrap_or_default().to_owned();
    if msg.contains("Could not set lock") || msg.contains("Conflicting lock") {
        return Error::new(ErrorKind::Database, format!("the DuckDB database `{path}` is locked by another process"))
            .with_note(first_line)
            .with_hint("close the other program using the file (a DuckDB shell, a notebook, another sluice run) and retry");
    }
    if msg.contains("not a valid DuckDB database file")
        || msg.contains("Could not read enough bytes")
        || msg.contains("database file is corrupt")
        || msg.contains("Corrupt database file")
    {
        return Error::new(
            ErrorKind::Database,
            format!("`{path}` is not a complete DuckDB database (empty, truncated, or another program's file)"),
        )
        .with_note(first_line)
        .with_hint(format!(
            "sluice never overwrites it: move it aside (e.g. `mv {path} {path}.broken`) and run again to build a fresh one, or restore it from a backup"
        ));
    }
    let hint = match &target.profiles_file {
        Some(file) => format!(
            "check that the `path` of target `{}` in {} points at a writable location",
            target.name,
            file.display()
        ),
        None => "sluice's default database is a file in the project folder (no profiles.yml is in use): check that the folder is writable".to_owned(),
    };
    Error::new(
        ErrorKind::Database,
        format!("could not open DuckDB database `{path}`: {msg}"),
    )
    .with_hint(hint)
}

fn db_error(err: &duckdb::Error, sql: Option<&str>) -> Error {
    let msg = err.to_string();
    let e = Error::new(ErrorKind::Database, msg.trim().to_owned());
    match sql {
        Some(sql) if sql.len() < 2000 => e.with_note(format!("while running:\n{}", sql.trim())),
        _ => e,
    }
}

/// One DuckDB connection.
pub struct DuckDbConnection {
    conn: duckdb::Connection,
    catalog: Option<Arc<Catalog>>,
}

/// A snapshot of which relations exist, shared by a run's connections and
/// kept current by the materializations ([`Connection::record_relation`]).
/// A lookup in DuckDB's information_schema costs about 9 ms on a catalog of
/// a thousand relations, which made per-model lookups dominate `run`.
#[derive(Debug, Default)]
pub struct Catalog {
    relations: Mutex<HashMap<(String, String, String), RelationType>>,
}

fn catalog_key(r: &Relation) -> (String, String, String) {
    (
        r.database.to_lowercase(),
        r.schema.to_lowercase(),
        r.identifier.to_lowercase(),
    )
}

fn relation_type_of(table_type: &str) -> RelationType {
    if table_type.eq_ignore_ascii_case("VIEW") {
        RelationType::View
    } else {
        RelationType::Table
    }
}

impl Connection for DuckDbConnection {
    fn execute(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(|e| db_error(&e, None))
    }

    fn execute_in_transaction(&self, statements: &[String]) -> Result<()> {
        self.transaction(&mut || {
            statements.iter().try_for_each(|sql| self.execute(sql))?;
            Ok(TxEnd::Commit)
        })
    }

    fn transaction(&self, body: &mut dyn FnMut() -> Result<TxEnd>) -> Result<()> {
        self.conn
            .execute_batch("begin transaction")
            .map_err(|e| db_error(&e, None))?;
        let result = body().and_then(|end| match end {
            TxEnd::Commit => {
                let t = std::time::Instant::now();
                let committed = self
                    .conn
                    .execute_batch("commit")
                    .map_err(|e| db_error(&e, None));
                crate::timing::stage("commit", t);
                committed
            }
            TxEnd::Rollback => self
                .conn
                .execute_batch("rollback")
                .map_err(|e| db_error(&e, None)),
        });
        if result.is_err() {
            let _ = self.conn.execute_batch("rollback");
        }
        result
    }

    fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| db_error(&e, None))?;
        let mut rows = stmt.query([]).map_err(|e| db_error(&e, None))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| db_error(&e, None))? {
            let n = row.as_ref().column_count();
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                let v: duckdb::types::Value = row.get(i).map_err(|e| db_error(&e, None))?;
                values.push(value_to_string(v));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn query_table(&self, sql: &str) -> Result<Table> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| db_error(&e, Some(sql)))?;
        let mut rows = stmt.query([]).map_err(|e| db_error(&e, Some(sql)))?;
        let mut out = Vec::new();
        let mut columns = None;
        while let Some(row) = rows.next().map_err(|e| db_error(&e, None))? {
            let stmt = row.as_ref();
            let n = stmt.column_count();
            if columns.is_none() {
                columns = Some(stmt.column_names());
            }
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                let v: duckdb::types::Value = row.get(i).map_err(|e| db_error(&e, None))?;
                values.push(value_to_json(v));
            }
            out.push(values);
        }
        drop(rows);
        let columns = match columns {
            Some(c) => c,
            None => stmt.column_names(),
        };
        Ok(Table { columns, rows: out })
    }

    fn query_cells(&self, sql: &str) -> Result<CellTable> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| db_error(&e, None))?;
        let mut rows = stmt.query([]).map_err(|e| db_error(&e, None))?;
        let mut out = Vec::new();
        let mut columns = None;
        while let Some(row) = rows.next().map_err(|e| db_error(&e, None))? {
            let stmt = row.as_ref();
            if columns.is_none() {
                columns = Some(stmt.column_names());
            }
            let mut values = Vec::with_capacity(stmt.column_count());
            for i in 0..stmt.column_count() {
                let v: duckdb::types::Value = row.get(i).map_err(|e| db_error(&e, None))?;
                values.push(value_to_cell(v));
            }
            out.push(values);
        }
        drop(rows);
        let columns = columns.unwrap_or_else(|| stmt.column_names());
        Ok(CellTable { columns, rows: out })
    }

    fn relation_type(&self, relation: &Relation) -> Result<Option<RelationType>> {
        if let Some(catalog) = &self.catalog {
            let relations = catalog
                .relations
                .lock()
                .map_err(|_| Error::new(ErrorKind::Database, "catalog lock poisoned"))?;
            return Ok(relations.get(&catalog_key(relation)).copied());
        }
        let sql = format!(
            "select 'BASE TABLE' from duckdb_tables() where database_name = '{0}' and schema_name = '{1}' and table_name = '{2}' \
             union all select 'VIEW' from duckdb_views() where database_name = '{0}' and schema_name = '{1}' and view_name = '{2}'",
            relation.database.replace('\'', "''"),
            relation.schema.replace('\'', "''"),
            relation.identifier.replace('\'', "''")
        );
        let rows = self.query(&sql)?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .map(|t| relation_type_of(&t)))
    }

    fn record_relation(&self, relation: &Relation, kind: Option<RelationType>) {
        if let Some(catalog) = &self.catalog {
            if let Ok(mut relations) = catalog.relations.lock() {
                match kind {
                    Some(k) => relations.insert(catalog_key(relation), k),
                    None => relations.remove(&catalog_key(relation)),
                };
            }
        }
    }
}

/// A DuckDB value as JSON for templates: integers and floats as numbers
/// (decimals too, as agate does), dates and timestamps as ISO 8601 text,
/// anything else as its text.
pub fn value_to_json(v: duckdb::types::Value) -> serde_json::Value {
    use duckdb::types::Value as V;
    use serde_json::Value as J;
    let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
    match v {
        V::Null => J::Null,
        V::Boolean(b) => J::Bool(b),
        V::TinyInt(i) => J::from(i),
        V::SmallInt(i) => J::from(i),
        V::Int(i) => J::from(i),
        V::BigInt(i) => J::from(i),
        V::UTinyInt(i) => J::from(i),
        V::USmallInt(i) => J::from(i),
        V::UInt(i) => J::from(i),
        V::UBigInt(i) => J::from(i),
        V::HugeInt(i) => i64::try_from(i).map_or_else(|_| J::from(i.to_string()), J::from),
        V::Float(f) => J::from(f64::from(f)),
        V::Double(f) => J::from(f),
        V::Decimal(d) => d
            .to_string()
            .parse::<f64>()
            .map_or_else(|_| J::from(d.to_string()), J::from),
        V::Text(s) => J::from(s),
        V::Date32(days) => J::from(
            (epoch.date() + chrono::Duration::days(i64::from(days)))
                .format("%Y-%m-%d")
                .to_string(),
        ),
        V::Timestamp(unit, t) => J::from(
            (epoch + chrono::Duration::microseconds(unit.to_micros(t)))
                .format("%Y-%m-%dT%H:%M:%S%.f")
                .to_string(),
        ),
        other => value_to_string(other).map_or(J::Null, J::from),
    }
}

/// A DuckDB value as the [`Cell`] dbt's agate type tester makes of what
/// the DuckDB Python driver returns: integers as `Integer`, decimals and
/// floats as `Number`, dates, timestamps (Python's `str(datetime)`) and
/// booleans as themselves, lists, arrays, structs and maps as JSON text (as
/// dbt-common's `table_from_data_flat`), anything else as its text.
pub fn value_to_cell(v: duckdb::types::Value) -> Cell {
    use duckdb::types::Value as V;
    let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
    match v {
        V::Null => Cell::Null,
        V::Boolean(b) => Cell::Boolean(b),
        V::TinyInt(i) => Cell::Integer(i.into()),
        V::SmallInt(i) => Cell::Integer(i.into()),
        V::Int(i) => Cell::Integer(i.into()),
        V::BigInt(i) => Cell::Integer(i.into()),
        V::HugeInt(i) => Cell::Integer(i),
        V::UTinyInt(i) => Cell::Integer(i.into()),
        V::USmallInt(i) => Cell::Integer(i.into()),
        V::UInt(i) => Cell::Integer(i.into()),
        V::UBigInt(i) => Cell::Integer(i.into()),
        V::UHugeInt(i) => {
            i128::try_from(i).map_or_else(|_| Cell::Text(i.to_string()), Cell::Integer)
        }
        V::Float(f) => Cell::Number(f.to_string()),
        V::Double(f) => Cell::Number(f.to_string()),
        V::Decimal(d) => Cell::Number(d.to_string()),
        V::Date32(days) => Cell::Date(
            (epoch.date() + chrono::Duration::days(i64::from(days)))
                .format("%Y-%m-%d")
                .to_string(),
        ),
        V::Timestamp(unit, t) => {
            let at = epoch + chrono::Duration::microseconds(unit.to_micros(t));
            // Python's str(datetime): microseconds only when there are any.
            let format = if at.and_utc().timestamp_subsec_micros() == 0 {
                "%Y-%m-%d %H:%M:%S"
            } else {
                "%Y-%m-%d %H:%M:%S%.6f"
            };
            Cell::DateTime(at.format(format).to_string())
        }
        V::Time64(unit, t) => {
            let micros = unit.to_micros(t);
            let at = chrono::NaiveTime::MIN + chrono::Duration::microseconds(micros);
            let format = if micros % 1_000_000 == 0 {
                "%H:%M:%S"
            } else {
                "%H:%M:%S%.6f"
            };
            Cell::Text(at.format(format).to_string())
        }
        V::Text(s) | V::Enum(s) => Cell::Text(s),
        v @ (V::List(_) | V::Array(_) | V::Struct(_) | V::Map(_) | V::Union(_)) => {
            Cell::Text(value_to_json_deep(v).to_string())
        }
        other => value_to_string(other).map_or(Cell::Null, Cell::Text),
    }
}

/// A DuckDB value as JSON with lists, arrays, structs and maps kept as JSON
/// arrays and objects (map keys as their text).
fn value_to_json_deep(v: duckdb::types::Value) -> serde_json::Value {
    use duckdb::types::Value as V;
    match v {
        V::List(items) | V::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(value_to_json_deep).collect())
        }
        V::Struct(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), value_to_json_deep(v.clone())))
                .collect(),
        ),
        V::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match value_to_json_deep(k.clone()) {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, value_to_json_deep(v.clone()))
                })
                .collect(),
        ),
        V::Union(inner) => value_to_json_deep(*inner),
        other => value_to_json(other),
    }
}

/// A DuckDB value as text (NULL as `None`), for results and test fixtures.
pub fn value_to_string(v: duckdb::types::Value) -> Option<String> {
    use duckdb::types::Value as V;
    Some(match v {
        V::Null => return None,
        V::Boolean(b) => b.to_string(),
        V::TinyInt(i) => i.to_string(),
        V::SmallInt(i) => i.to_string(),
        V::Int(i) => i.to_string(),
        V::BigInt(i) => i.to_string(),
        V::HugeInt(i) => i.to_string(),
        V::UTinyInt(i) => i.to_string(),
        V::USmallInt(i) => i.to_string(),
        V::UInt(i) => i.to_string(),
        V::UBigInt(i) => i.to_string(),
        V::Float(f) => f.to_string(),
        V::Double(f) => f.to_string(),
        V::Text(s) => s,
        V::Decimal(d) => d.to_string(),
        other => format!("{other:?}"),
    })
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
