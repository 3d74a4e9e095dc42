//! PostgreSQL through the `postgres` crate (the synchronous client of
//! tokio-postgres): a [`PostgresConnection`] implements the warehouse
//! [`Connection`] trait, so materializations, tests and templates can run
//! on it as they run on DuckDB (issue 20; today `sluice debug` uses it).
//!
//! Values are read with PostgreSQL's text protocol (`simple_query`) and
//! typed from the statement's column types (`prepare`), so no per-type
//! binary decoding (numeric, dates, timestamps) is needed.

use std::sync::Mutex;

use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};

use crate::error::{Error, ErrorKind, Result};
use crate::project::PostgresProfile;
use crate::warehouse::connection::{Cell, CellTable, Connection, RelationType, Table, TxEnd};
use crate::warehouse::relation::{literal, Relation};

/// One connection to a PostgreSQL server, used by one worker at a time.
pub struct PostgresConnection {
    client: Mutex<Client>,
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
/// `sslmode` asks for TLS, which sluice does not have yet.
pub fn connect(profile: &PostgresProfile) -> Result<PostgresConnection> {
    let located = |err: Error| match &profile.location {
        Some(loc) => err.with_location(loc.clone()),
        None => err,
    };
    if !matches!(
        profile.sslmode.as_str(),
        "" | "disable" | "prefer" | "allow"
    ) {
        return Err(located(
            Error::new(
                ErrorKind::Profile,
                format!("sslmode `{}` needs TLS, which sluice's PostgreSQL adapter does not have yet", profile.sslmode),
            )
            .with_hint("use `sslmode: disable` (or `prefer`) on a trusted network, or a local TLS-terminating proxy"),
        ));
    }
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
    let client = config.connect(NoTls).map_err(|e| {
        located(
            Error::new(
                ErrorKind::Profile,
                format!(
                    "could not connect to PostgreSQL at {}:{} as `{}` (database `{}`): {}",
                    profile.host,
                    profile.port,
                    profile.user,
                    profile.dbname,
                    message(&e)
                ),
            )
            .with_hint("check that the server runs and accepts TCP connections there, and the profile's `user`, `password` (e.g. `{{ env_var('PGPASSWORD') }}`) and `dbname`"),
        )
    })?;
    Ok(PostgresConnection {
        client: Mutex::new(client),
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
    fn the_password_never_shows_in_debug_output() {
        let p = PostgresProfile {
            host: "db".into(),
            port: 5432,
            user: "u".into(),
            password: "s3cret-pw".into(),
            dbname: "d".into(),
            sslmode: "prefer".into(),
            connect_timeout: 10,
            location: None,
        };
        let shown = format!("{p:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
    }
}
