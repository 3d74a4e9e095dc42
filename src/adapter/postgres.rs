//! PostgreSQL through the `postgres` crate (the synchronous client of
//! tokio-postgres): [`PostgresWarehouse`] opens one [`PostgresConnection`]
//! per worker thread, each implementing the warehouse [`Connection`] trait,
//! so materializations, tests and templates run on it as they run on DuckDB.
//!
//! Values are read with PostgreSQL's text protocol (`simple_query`) and
//! typed from the statement's column types (`prepare`), so no per-type
//! binary decoding (numeric, dates, timestamps) is needed.

use std::sync::{Arc, Mutex};

use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};

use crate::error::{Error, ErrorKind, Result};
use crate::project::PostgresProfile;
use crate::warehouse::catalog::Catalog;
use crate::warehouse::connection::{
    Cell, CellTable, Connection, RelationType, RowCounts, Table, TxEnd,
};
use crate::warehouse::engine::Warehouse;
use crate::warehouse::relation::{literal, Relation};

/// One connection to a PostgreSQL server, used by one worker at a time.
pub struct PostgresConnection {
    client: Mutex<Client>,
    catalog: Option<Arc<Catalog>>,
}

/// A PostgreSQL target: the profile to connect with. Each
/// [`Warehouse::connect`] opens a session of its own, one per worker thread
/// as dbt-postgres does; the session opened to check the server (and read
/// its version) becomes the first one handed out.
#[derive(Debug)]
pub struct PostgresWarehouse {
    profile: PostgresProfile,
    version: String,
    first: super::kept_session::KeptSession<PostgresConnection>,
}

impl PostgresWarehouse {
    /// Connects once to check the server answers and to read its version.
    ///
    /// Errors: as [`connect`].
    pub fn open(profile: &PostgresProfile) -> Result<PostgresWarehouse> {
        let first = connect(profile)?;
        let version = first.server_version()?;
        Ok(PostgresWarehouse {
            profile: profile.clone(),
            version,
            first: super::kept_session::KeptSession::new(first),
        })
    }

    /// The checking session if no one has it yet, else a new one.
    fn session(&self) -> Result<PostgresConnection> {
        self.first.take_or(|| connect(&self.profile))
    }
}

impl Warehouse for PostgresWarehouse {
    fn adapter_type(&self) -> &'static str {
        "postgres"
    }

    fn version(&self) -> String {
        format!("PostgreSQL {}", self.version)
    }

    fn connect(&self) -> Result<Box<dyn Connection>> {
        Ok(Box::new(self.session()?))
    }

    fn connect_cached(&self, catalog: Arc<Catalog>) -> Result<Box<dyn Connection>> {
        Ok(Box::new(PostgresConnection {
            catalog: Some(catalog),
            ..self.session()?
        }))
    }
}

impl std::fmt::Debug for PostgresConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresConnection")
    }
}

/// Connects to the server `profile` describes.
///
/// Errors: [`ErrorKind::Profile`] located at the profile's `host:` line
/// when the server cannot be reached or refuses the login (the message is
/// the server's or the network's; the password never appears), or when
/// TLS fails as `sslmode` asks for it (no TLS offered, a certificate that
/// does not check out, an unreadable `sslrootcert`).
pub fn connect(profile: &PostgresProfile) -> Result<PostgresConnection> {
    let located = |err: Error| match &profile.location {
        Some(loc) => err.with_location(loc.clone()),
        None => err,
    };
    let mut config = postgres::Config::new();
    config
        .host(&profile.host)
        .port(profile.port)
        .user(&profile.user)
        .dbname(&profile.dbname)
        .application_name("sluice")
        .connect_timeout(std::time::Duration::from_secs(
            profile.connect_timeout.max(1),
        ));
    if !profile.password.is_empty() {
        config.password(&profile.password);
    }
    let tls = crate::adapter::postgres_tls::connector(profile).map_err(located)?;
    let connected = match tls {
        None => config.connect(NoTls),
        Some((mode, tls)) => {
            config.ssl_mode(mode);
            config.connect(tls)
        }
    };
    let client = connected.map_err(|e| {
        let text = message(&e);
        let hint = if text.contains("TLS") || text.contains("certificate") || text.contains("SSL") {
            format!("`sslmode: {}` asked for this check: point `sslrootcert` at the PEM file of the CA that signed the server's certificate, connect by the name the certificate gives (`verify-full`), or relax `sslmode` (`verify-ca` skips the name, `require` the certificate)", profile.sslmode)
        } else {
            "check that the server runs and accepts TCP connections there, and the profile's `user`, `password` (e.g. `{{ env_var('PGPASSWORD') }}`) and `dbname`".to_owned()
        };
        located(
            Error::new(
                ErrorKind::Profile,
                format!(
                    "could not connect to PostgreSQL at {}:{} as `{}` (database `{}`): {text}",
                    profile.host, profile.port, profile.user, profile.dbname,
                ),
            )
            .with_hint(hint),
        )
    })?;
    Ok(PostgresConnection {
        client: Mutex::new(client),
        catalog: None,
    })
}

/// The server's own message for `e` (a database error's text, or the
/// client's description of a network error).
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let text = e.to_string();
            match std::error::Error::source(e) {
                Some(source) => format!("{text}: {source}"),
                None => text,
            }
        }
    }
}

fn db_error(e: &postgres::Error) -> Error {
    let mut err = Error::new(ErrorKind::Database, message(e));
    if let Some(db) = e.as_db_error() {
        if let Some(hint) = db.hint() {
            err = err.with_hint(hint.to_owned());
        }
        if let Some(detail) = db.detail() {
            err = err.with_note(detail.to_owned());
        }
    }
    err
}

/// The rows of `sql` (one statement) as text, in the text protocol.
fn text_rows(client: &mut Client, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let messages = client.simple_query(sql).map_err(|e| db_error(&e))?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

impl PostgresConnection {
    /// `(column name, type)` of each column `sql` returns, from preparing it.
    fn statement_columns(&self, sql: &str) -> Result<Vec<(String, Type)>> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let stmt = client.prepare(sql).map_err(|e| db_error(&e))?;
        Ok(stmt
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.type_().clone()))
            .collect())
    }

    /// The column names of `sql` and its rows, each text value turned into
    /// `T` by `convert` with its column's type.
    fn typed<T>(
        &self,
        sql: &str,
        convert: fn(&Type, Option<String>) -> T,
    ) -> Result<(Vec<String>, Vec<Vec<T>>)> {
        let columns = self.statement_columns(sql)?;
        let rows = self
            .query(sql)?
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&columns)
                    .map(|(v, (_, ty))| convert(ty, v))
                    .collect()
            })
            .collect();
        Ok((columns.into_iter().map(|(n, _)| n).collect(), rows))
    }

    /// The server's version (`show server_version`).
    ///
    /// Errors: [`ErrorKind::Database`].
    pub fn server_version(&self) -> Result<String> {
        Ok(self
            .query("show server_version")?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .unwrap_or_default())
    }
}

/// A text value of PostgreSQL type `ty` as JSON: numbers for integer,
/// float and numeric columns, booleans for `bool`, text otherwise.
fn to_json(ty: &Type, text: Option<String>) -> serde_json::Value {
    let Some(text) = text else {
        return serde_json::Value::Null;
    };
    match *ty {
        Type::INT2
        | Type::INT4
        | Type::INT8
        | Type::OID
        | Type::FLOAT4
        | Type::FLOAT8
        | Type::NUMERIC => serde_json::from_str::<serde_json::Number>(&text)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::String(text)),
        Type::BOOL => serde_json::Value::Bool(text == "t"),
        _ => serde_json::Value::String(text),
    }
}

/// A text value of PostgreSQL type `ty` as a preview [`Cell`].
fn to_cell(ty: &Type, text: Option<String>) -> Cell {
    let Some(text) = text else {
        return Cell::Null;
    };
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            text.parse().map(Cell::Integer).unwrap_or(Cell::Text(text))
        }
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => Cell::Number(text),
        Type::BOOL => Cell::Boolean(text == "t"),
        Type::DATE => Cell::Date(text),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => Cell::DateTime(text),
        _ => Cell::Text(text),
    }
}

impl Connection for PostgresConnection {
    fn adapter_type(&self) -> &'static str {
        "postgres"
    }

    fn execute(&self, sql: &str) -> Result<()> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        client.batch_execute(sql).map_err(|e| db_error(&e))
    }

    fn execute_in_transaction(&self, statements: &[String]) -> Result<()> {
        // PostgreSQL's DDL is transactional: a failed swap leaves nothing.
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let mut tx = client.transaction().map_err(|e| db_error(&e))?;
        for sql in statements {
            tx.batch_execute(sql).map_err(|e| db_error(&e))?;
        }
        tx.commit().map_err(|e| db_error(&e))
    }

    fn transaction(&self, body: &mut dyn FnMut() -> Result<TxEnd>) -> Result<()> {
        self.execute("begin")?;
        match body() {
            Ok(TxEnd::Commit) => self.execute("commit").inspect_err(|_| {
                let _ = self.execute("rollback");
            }),
            Ok(TxEnd::Rollback) => self.execute("rollback"),
            Err(e) => {
                let _ = self.execute("rollback");
                Err(e)
            }
        }
    }

    fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        text_rows(&mut client, sql)
    }

    fn query_table(&self, sql: &str) -> Result<Table> {
        let (columns, rows) = self.typed(sql, to_json)?;
        Ok(Table { columns, rows })
    }

    fn query_cells(&self, sql: &str) -> Result<CellTable> {
        let (columns, rows) = self.typed(sql, to_cell)?;
        Ok(CellTable { columns, rows })
    }

    fn relation_type(&self, relation: &Relation) -> Result<Option<RelationType>> {
        if let Some(catalog) = &self.catalog {
            return Ok(catalog.get(relation));
        }
        let rows = self.query(&format!(
            "select table_type from information_schema.tables \
             where table_catalog = {} and table_schema = {} and table_name = {}",
            literal(&relation.database),
            literal(&relation.schema),
            literal(&relation.identifier)
        ))?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .map(|t| {
                if t == "VIEW" {
                    RelationType::View
                } else {
                    RelationType::Table
                }
            }))
    }

    fn describe(&self, query: &str) -> Result<Vec<(String, String)>> {
        // A temporary view types every column as the server would, typmods
        // included (`numeric(10,2)`); it is dropped at once.
        self.execute(&format!(
            "create or replace temp view __sluice_describe as {query}"
        ))?;
        let described = self.query(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute \
             where attrelid = 'pg_temp.__sluice_describe'::regclass and attnum > 0 and not attisdropped order by attnum",
        );
        self.execute("drop view if exists pg_temp.__sluice_describe")?;
        Ok(crate::warehouse::connection::name_type_pairs(described?))
    }

    fn record_relation(&self, relation: &Relation, kind: Option<RelationType>) {
        if let Some(catalog) = &self.catalog {
            catalog.record(relation, kind);
        }
    }

    fn column_type_for(&self, duckdb_type: &str) -> String {
        type_from_duckdb(duckdb_type)
    }

    fn row_counts(&self) -> Result<Option<RowCounts>> {
        // The planner's estimate (`reltuples`); none before the first analyze.
        let rows = self.query(
            "select current_database(), n.nspname, c.relname, c.reltuples::bigint from pg_class c \
             join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' and c.reltuples >= 0",
        )?;
        let text = |r: &[Option<String>], i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        Ok(Some((
            "Rows in the table, as PostgreSQL last estimated them (pg_class.reltuples)",
            rows.iter()
                .map(|r| {
                    (
                        [text(r, 0), text(r, 1), text(r, 2)],
                        text(r, 3).parse().unwrap_or(0),
                    )
                })
                .collect(),
        )))
    }

    fn copy_rows(
        &self,
        relation: &Relation,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<u64> {
        use std::io::Write;
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let names = columns
            .iter()
            .map(|c| crate::warehouse::relation::quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let mut writer = client
            .copy_in(&format!("copy {relation} ({names}) from stdin"))
            .map_err(|e| db_error(&e))?;
        let io = |e: std::io::Error| {
            Error::new(
                ErrorKind::Database,
                format!("COPY into `{relation}` failed: {e}"),
            )
        };
        let mut line = String::new();
        for row in rows {
            line.clear();
            copy_text_line(row, &mut line);
            writer.write_all(line.as_bytes()).map_err(io)?;
        }
        writer.finish().map_err(|e| db_error(&e))
    }
}

/// The PostgreSQL type for a column DuckDB typed `duckdb_type`: how a seed
/// read by DuckDB's CSV sniffer gets its PostgreSQL table, so both
/// warehouses hold the same values (`DECIMAL(10,2)` is `numeric(10,2)`,
/// `VARCHAR` is `text`, `TIMESTAMP WITH TIME ZONE` is `timestamptz`).
/// Unsigned and 128-bit integers widen to the next type that holds them;
/// anything else is `text`.
pub fn type_from_duckdb(duckdb_type: &str) -> String {
    let upper = duckdb_type.trim().to_ascii_uppercase();
    if let Some(args) = upper.strip_prefix("DECIMAL") {
        return format!("numeric{args}");
    }
    match upper.as_str() {
        "BIGINT" | "UINTEGER" => "bigint",
        "INTEGER" | "USMALLINT" => "integer",
        "SMALLINT" | "TINYINT" | "UTINYINT" => "smallint",
        "HUGEINT" | "UBIGINT" | "UHUGEINT" => "numeric",
        "DOUBLE" => "double precision",
        "FLOAT" => "real",
        "BOOLEAN" => "boolean",
        "DATE" => "date",
        "TIME" => "time",
        "TIMESTAMP" | "TIMESTAMP_NS" | "TIMESTAMP_MS" | "TIMESTAMP_S" => "timestamp",
        "TIMESTAMP WITH TIME ZONE" => "timestamptz",
        "INTERVAL" => "interval",
        "UUID" => "uuid",
        "BLOB" => "bytea",
        _ => "text",
    }
    .to_owned()
}

/// One row in `COPY`'s text format: tab-separated, `\N` for NULL,
/// backslash, tab, newline and carriage return escaped, ending in a newline.
fn copy_text_line(row: &[Option<String>], out: &mut String) {
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match value {
            None => out.push_str("\\N"),
            Some(v) => {
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_typed_by_column_type() {
        assert_eq!(
            to_json(&Type::INT8, Some("42".into())),
            serde_json::json!(42)
        );
        assert_eq!(
            to_json(&Type::NUMERIC, Some("12.50".into())),
            serde_json::json!(12.5)
        );
        assert_eq!(
            to_json(&Type::BOOL, Some("t".into())),
            serde_json::json!(true)
        );
        assert_eq!(
            to_json(&Type::TEXT, Some("x".into())),
            serde_json::json!("x")
        );
        assert_eq!(to_json(&Type::DATE, None), serde_json::Value::Null);
        assert_eq!(to_cell(&Type::INT4, Some("7".into())), Cell::Integer(7));
        assert_eq!(
            to_cell(&Type::NUMERIC, Some("1.10".into())),
            Cell::Number("1.10".into())
        );
        assert_eq!(
            to_cell(&Type::TIMESTAMP, Some("2024-01-01 00:00:00".into())),
            Cell::DateTime("2024-01-01 00:00:00".into())
        );
    }

    #[test]
    fn duckdb_types_map_to_postgres_types() {
        assert_eq!(type_from_duckdb("DECIMAL(10,2)"), "numeric(10,2)");
        assert_eq!(type_from_duckdb("BIGINT"), "bigint");
        assert_eq!(type_from_duckdb("VARCHAR"), "text");
        assert_eq!(type_from_duckdb("TIMESTAMP WITH TIME ZONE"), "timestamptz");
        assert_eq!(type_from_duckdb("INTEGER[]"), "text");
    }

    #[test]
    fn copy_lines_escape_what_the_text_format_reserves() {
        let mut line = String::new();
        copy_text_line(
            &[Some("a\tb\\c\nd".into()), None, Some(String::new())],
            &mut line,
        );
        assert_eq!(line, "a\\tb\\\\c\\nd\t\\N\t\n");
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let p = PostgresProfile {
            host: "db".into(),
            port: 5432,
            user: "u".into(),
            password: "s3cret-pw".into(),
            dbname: "d".into(),
            sslmode: "prefer".into(),
            sslrootcert: String::new(),
            connect_timeout: 10,
            location: None,
        };
        let shown = format!("{p:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
    }
}
