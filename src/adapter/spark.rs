//! Apache Spark through Spark Connect, with Apache's Rust client
//! (`apache-spark-connect`, blocking API): [`SparkWarehouse`] opens one
//! [`SparkConnection`] (one Spark Connect session) per worker thread, each
//! implementing the warehouse [`Connection`] trait, so materializations,
//! tests and templates run on it as on DuckDB and PostgreSQL.
//!
//! What differs, and how sluice meets it (docs/decisions/spark-connect.md):
//! - Spark has no multi-statement transactions: statements run one by one,
//!   and the materializations build under an intermediate name first, so a
//!   model whose SQL fails leaves the previous table as it was.
//! - Every session turns on `spark.sql.ansi.doubleQuotedIdentifiers` (with
//!   ANSI mode), so identifiers quote with `"` as on every other adapter,
//!   and sets the session time zone to UTC unless the profile's
//!   `server_side_parameters` set one.
//! - Spark runs one statement per request: a script is split on `;`
//!   outside quotes and comments.

use std::sync::Arc;

use spark_connect::row::{Row, Value};
use spark_connect::{SparkError, SparkSession};

use crate::error::{Error, ErrorKind, Result};
use crate::project::spark_profile::SparkProfile;
use crate::warehouse::catalog::Catalog;
use crate::warehouse::connection::{Cell, CellTable, Connection, RelationType, Table, TxEnd};
use crate::warehouse::engine::Warehouse;
use crate::warehouse::relation::{literal, quote, Relation};

/// Settings every session gets before anything runs; the profile's
/// `server_side_parameters` come after and win.
const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("spark.sql.ansi.enabled", "true"),
    ("spark.sql.ansi.doubleQuotedIdentifiers", "true"),
    ("spark.sql.session.timeZone", "UTC"),
    // A partitioned `insert overwrite` replaces only the partitions it
    // writes, as dbt-spark's insert_overwrite strategy expects.
    ("spark.sql.sources.partitionOverwriteMode", "dynamic"),
];

/// One Spark Connect session, used by one worker thread at a time.
pub struct SparkConnection {
    session: SparkSession,
    catalog: Option<Arc<Catalog>>,
}

impl std::fmt::Debug for SparkConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SparkConnection")
    }
}

/// A Spark target: the server to open sessions on. The session opened to
/// check the server (and read its version) becomes the first worker's.
pub struct SparkWarehouse {
    profile: SparkProfile,
    version: String,
    first: super::kept_session::KeptSession<SparkConnection>,
}

impl std::fmt::Debug for SparkWarehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparkWarehouse")
            .field("profile", &self.profile)
            .finish()
    }
}

impl SparkWarehouse {
    /// Opens a session to check that the server answers, and reads its version.
    ///
    /// Errors: as [`connect`].
    pub fn open(profile: &SparkProfile) -> Result<SparkWarehouse> {
        let first = connect(profile)?;
        let version = first.session.version().map_err(|e| spark_error(&e))?;
        Ok(SparkWarehouse {
            profile: profile.clone(),
            version,
            first: super::kept_session::KeptSession::new(first),
        })
    }

    fn session(&self) -> Result<SparkConnection> {
        self.first.take_or(|| connect(&self.profile))
    }
}

impl Warehouse for SparkWarehouse {
    fn adapter_type(&self) -> &'static str {
        "spark"
    }

    fn version(&self) -> String {
        format!("Apache Spark {} (Spark Connect)", self.version)
    }

    fn connect(&self) -> Result<Box<dyn Connection>> {
        Ok(Box::new(self.session()?))
    }

    fn connect_cached(&self, catalog: Arc<Catalog>) -> Result<Box<dyn Connection>> {
        Ok(Box::new(SparkConnection {
            catalog: Some(catalog),
            ..self.session()?
        }))
    }
}

/// Opens a Spark Connect session on the server `profile` names and applies
/// the session settings.
///
/// Errors: [`ErrorKind::Profile`] located at the profile's `host:` line
/// when the server does not answer within `connect_timeout` or refuses the
/// session (the message never shows the URL's token).
pub fn connect(profile: &SparkProfile) -> Result<SparkConnection> {
    let failed = |why: String| {
        let err = Error::new(
            ErrorKind::Profile,
            format!(
                "could not connect to Spark Connect at {}:{}: {why}",
                profile.host, profile.port
            ),
        )
        .with_hint("check that a Spark Connect server runs there (Spark 3.4+: `sbin/start-connect-server.sh`; locally `scripts/spark-server start`) and that the port is reachable");
        match &profile.location {
            Some(loc) => err.with_location(loc.clone()),
            None => err,
        }
    };
    let wait = std::time::Duration::from_secs(profile.connect_timeout.max(1));
    // The client retries a refused connection until it gives up: a plain
    // TCP connect first says at once why the server cannot be reached.
    reachable(&profile.host, profile.port, wait).map_err(failed)?;
    // The client has no connect timeout of its own: wait for it on a thread.
    let url = profile.url.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let open = || -> std::result::Result<SparkSession, String> {
            let s = SparkSession::builder()
                .remote(&url)
                .get_or_create()
                .map_err(|e| message(&e))?;
            // A round trip proves the server answers, not only that a channel exists.
            s.sql("select 1")
                .map_err(|e| message(&e))?
                .collect()
                .map_err(|e| message(&e))?;
            Ok(s)
        };
        let _ = tx.send(open());
    });
    let session = match rx.recv_timeout(wait) {
        Ok(Ok(session)) => session,
        Ok(Err(e)) => return Err(failed(redact(&e, &profile.url))),
        Err(_) => {
            return Err(failed(format!(
                "no answer within {} s (`connect_timeout`)",
                profile.connect_timeout.max(1)
            )))
        }
    };
    let conf = session.conf();
    for (key, value) in SESSION_SETTINGS {
        conf.set(key, value).map_err(|e| spark_error(&e))?;
    }
    for (key, value) in &profile.server_side_parameters {
        conf.set(key, value)
            .map_err(|e| failed(format!("`server_side_parameters` `{key}`: {}", message(&e))))?;
    }
    Ok(SparkConnection {
        session,
        catalog: None,
    })
}

/// Whether a TCP connection to `host:port` opens within `wait`.
///
/// Errors: the resolver's or the network's reason, as text.
fn reachable(host: &str, port: u16, wait: std::time::Duration) -> std::result::Result<(), String> {
    use std::net::ToSocketAddrs;
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?;
    let mut last = format!("`{host}` has no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, wait) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// `text` without the secret parts of `url` (its token).
fn redact(text: &str, url: &str) -> String {
    match url.split_once(";token=") {
        Some((_, rest)) => {
            let token = rest.split(';').next().unwrap_or_default();
            if token.is_empty() {
                text.to_owned()
            } else {
                text.replace(token, "<hidden>")
            }
        }
        None => text.to_owned(),
    }
}

/// The server's message for `e`, without the JVM stack trace the server
/// may append.
fn message(e: &SparkError) -> String {
    let text = e.to_string();
    let text = text
        .split("\n\nJVM stacktrace:")
        .next()
        .unwrap_or_default()
        .trim();
    // The client repeats the error class the server's message starts with.
    match text.split_once("] ") {
        Some((class, rest)) if class.starts_with('[') && rest.starts_with(&format!("{class}]")) => {
            rest.to_owned()
        }
        _ => text.to_owned(),
    }
}

fn spark_error(e: &SparkError) -> Error {
    Error::new(ErrorKind::Database, message(e))
}

/// `sql` split into its statements on `;` outside quotes (`'`, `"`, `` ` ``,
/// with Spark's backslash escapes in strings) and comments; empty
/// statements are dropped.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' && q != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                out.push(&sql[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&sql[start.min(sql.len())..]);
    out.into_iter().filter(|s| !is_blank(s)).collect()
}

/// Whether `sql` holds nothing but whitespace and comments.
fn is_blank(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r
                .split_once('\n')
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r
                .split_once("*/")
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else {
            return rest.is_empty();
        }
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
fn date_text(days: i32) -> String {
    chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_else(|| days.to_string())
}

/// Microseconds since the epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC
/// (the session's time zone), trailing zeros of the fraction dropped.
fn timestamp_text(micros: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_micros(micros) else {
        return micros.to_string();
    };
    let whole = t.format("%Y-%m-%d %H:%M:%S").to_string();
    match micros.rem_euclid(1_000_000) {
        0 => whole,
        frac => format!("{whole}.{}", format!("{frac:06}").trim_end_matches('0')),
    }
}

/// A value as text, as the other adapters' `query` returns it: `None` for
/// NULL; lists, maps and structs as JSON.
fn text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Byte(n) => n.to_string(),
        Value::Short(n) => n.to_string(),
        Value::Integer(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::String(s) => s.clone(),
        Value::Decimal { value, .. } => value.clone(),
        Value::Date(d) => date_text(*d),
        Value::Timestamp(t) => timestamp_text(*t),
        Value::Binary(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        other => json(other).to_string(),
    })
}

/// A value as JSON, as [`Table`] holds it: numbers for numeric types,
/// dates and timestamps as ISO 8601 text.
fn json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Byte(_) | Value::Short(_) | Value::Integer(_) | Value::Long(_) => {
            value.as_i64().map(J::from).unwrap_or(J::Null)
        }
        Value::Float(_) | Value::Double(_) => value
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Decimal { value, .. } => serde_json::from_str::<serde_json::Number>(value)
            .map(J::Number)
            .unwrap_or_else(|_| J::String(value.clone())),
        Value::List(items) => J::Array(items.iter().map(json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
        Value::Struct(fields) => {
            J::Object(fields.iter().map(|(k, v)| (k.clone(), json(v))).collect())
        }
        Value::String(_) | Value::Date(_) | Value::Timestamp(_) | Value::Binary(_) => {
            text(value).map(J::String).unwrap_or(J::Null)
        }
        // A VARIANT: its binary parts, as the client prints them.
        other => J::String(other.to_string()),
    }
}

/// A value as a preview [`Cell`], typed as dbt's agate type tester would.
fn cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Boolean(*b),
        Value::Byte(_) | Value::Short(_) | Value::Integer(_) | Value::Long(_) => {
            Cell::Integer(i128::from(value.as_i64().unwrap_or_default()))
        }
        Value::Float(_) | Value::Double(_) | Value::Decimal { .. } => {
            Cell::Number(text(value).unwrap_or_default())
        }
        Value::Date(d) => Cell::Date(date_text(*d)),
        Value::Timestamp(t) => Cell::DateTime(timestamp_text(*t)),
        other => Cell::Text(text(other).unwrap_or_default()),
    }
}

impl SparkConnection {
    /// Runs each statement of `sql` and returns the last one's rows.
    fn run(&self, sql: &str) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        for statement in split_statements(sql) {
            rows = self
                .session
                .sql(statement)
                .map_err(|e| spark_error(&e))?
                .collect()
                .map_err(|e| spark_error(&e))?;
        }
        Ok(rows)
    }

    /// The column names and rows of one query, each value turned by `convert`.
    /// A query without rows still reports its columns (from its schema).
    fn typed<T>(&self, sql: &str, convert: fn(&Value) -> T) -> Result<(Vec<String>, Vec<Vec<T>>)> {
        let statement = crate::sql::strip_trailing_semicolons(sql);
        let df = self.session.sql(statement).map_err(|e| spark_error(&e))?;
        let rows = df.collect().map_err(|e| spark_error(&e))?;
        let columns = match rows.first() {
            Some(row) => row.fields().to_vec(),
            None => df.columns().map_err(|e| spark_error(&e))?,
        };
        let values = rows
            .iter()
            .map(|r| r.values().iter().map(convert).collect())
            .collect();
        Ok((columns, values))
    }

    /// The names `show tables` or `show views` lists in `schema`, lower-cased,
    /// without temporary views.
    fn names(&self, what: &str, schema: &str, like: Option<&str>) -> Result<Vec<String>> {
        let pattern = like
            .map(|l| format!(" like {}", literal(l)))
            .unwrap_or_default();
        Ok(self
            .run(&format!("show {what} in {}{pattern}", quote(schema)))?
            .iter()
            .filter(|r| r.get(2).and_then(Value::as_bool) != Some(true))
            .filter_map(|r| r.get(1).and_then(Value::as_str).map(str::to_lowercase))
            .collect())
    }
}

impl Connection for SparkConnection {
    fn adapter_type(&self) -> &'static str {
        "spark"
    }

    fn transactional(&self) -> bool {
        false
    }

    fn execute(&self, sql: &str) -> Result<()> {
        self.run(sql).map(drop)
    }

    fn execute_in_transaction(&self, statements: &[String]) -> Result<()> {
        // No transactions: in order, stopping at the first failure. The
        // materializations put the step that can fail (building the new
        // relation) first, so a failure leaves the old relation.
        statements.iter().try_for_each(|s| self.execute(s))
    }

    fn transaction(&self, body: &mut dyn FnMut() -> Result<TxEnd>) -> Result<()> {
        // Nothing to begin or roll back: a body on Spark stages its work
        // and publishes it last (see the snapshot's `snapshot_publish_sql`).
        body().map(drop)
    }

    fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        Ok(self
            .run(sql)?
            .iter()
            .map(|r| r.values().iter().map(text).collect())
            .collect())
    }

    fn query_table(&self, sql: &str) -> Result<Table> {
        let (columns, rows) = self.typed(sql, json)?;
        Ok(Table { columns, rows })
    }

    fn query_cells(&self, sql: &str) -> Result<CellTable> {
        let (columns, rows) = self.typed(sql, cell)?;
        Ok(CellTable { columns, rows })
    }

    fn relation_type(&self, relation: &Relation) -> Result<Option<RelationType>> {
        if let Some(catalog) = &self.catalog {
            return Ok(catalog.get(relation));
        }
        let name = relation.identifier.to_lowercase();
        let schemas = self.schemas()?;
        if !schemas.contains(&relation.schema.to_lowercase()) {
            return Ok(None);
        }
        if !self
            .names("tables", &relation.schema, Some(&name))?
            .contains(&name)
        {
            return Ok(None);
        }
        let view = self
            .names("views", &relation.schema, Some(&name))?
            .contains(&name);
        Ok(Some(if view {
            RelationType::View
        } else {
            RelationType::Table
        }))
    }

    fn columns(&self, relation: &Relation) -> Result<Vec<(String, String)>> {
        // Asked of the server, not a run's catalog cache: the relation may
        // be an intermediate one the cache does not list.
        match self.query(&format!("describe table {relation}")) {
            Ok(rows) => Ok(described(rows)),
            Err(e) if e.message().contains("TABLE_OR_VIEW_NOT_FOUND") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn describe(&self, query: &str) -> Result<Vec<(String, String)>> {
        let query = crate::sql::strip_trailing_semicolons(query);
        Ok(described(self.query(&format!("describe query {query}"))?))
    }

    fn relations(&self) -> Result<Vec<[String; 4]>> {
        let mut out = Vec::new();
        for schema in self.schemas()? {
            for [schema, name, kind] in self.schema_relations("", &schema)? {
                out.push([String::new(), schema, name, kind]);
            }
        }
        Ok(out)
    }

    fn find_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<[String; 4]>> {
        let relation = Relation::new(database, schema, identifier);
        Ok(self.relation_type(&relation)?.map(|kind| {
            let table_type = match kind {
                RelationType::View => "VIEW",
                RelationType::Table => "BASE TABLE",
            };
            [
                String::new(),
                schema.to_lowercase(),
                identifier.to_lowercase(),
                table_type.to_owned(),
            ]
        }))
    }

    fn schema_relations(&self, _database: &str, schema: &str) -> Result<Vec<[String; 3]>> {
        let schema = schema.to_lowercase();
        if !self.schemas()?.contains(&schema) {
            return Ok(Vec::new());
        }
        // A schema dropped since it was listed (by another session) is empty.
        let gone = |e: &Error| e.message().contains("SCHEMA_NOT_FOUND");
        let views = match self.names("views", &schema, None) {
            Err(e) if gone(&e) => return Ok(Vec::new()),
            other => other?,
        };
        let mut names = match self.names("tables", &schema, None) {
            Err(e) if gone(&e) => return Ok(Vec::new()),
            other => other?,
        };
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| {
                let kind = if views.contains(&name) {
                    "VIEW"
                } else {
                    "BASE TABLE"
                };
                [schema.clone(), name, kind.to_owned()]
            })
            .collect())
    }

    fn schema_names(&self, _database: &str) -> Result<Vec<String>> {
        let mut names = self.schemas()?;
        names.sort();
        Ok(names)
    }

    fn all_columns(&self) -> Result<Vec<[String; 4]>> {
        Ok(self
            .column_types()?
            .into_iter()
            .map(|[d, s, t, c, _]| [d, s, t, c])
            .collect())
    }

    fn column_types(&self) -> Result<Vec<[String; 5]>> {
        // No information_schema: one `describe` per relation.
        let mut out = Vec::new();
        for [db, schema, name, _] in self.relations()? {
            let relation = Relation::new(&db, &schema, &name);
            // A relation dropped since it was listed (another session's
            // intermediate) has no columns.
            for (column, ty) in self.columns(&relation)? {
                out.push([db.clone(), schema.clone(), name.clone(), column, ty]);
            }
        }
        Ok(out)
    }

    fn copy_rows(
        &self,
        relation: &Relation,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<u64> {
        // No bulk path over Spark Connect's SQL: `insert ... values` in
        // batches, each text value cast to its column's type.
        let types: Vec<String> = {
            let known = self.columns(relation)?;
            columns
                .iter()
                .map(|c| {
                    known
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(c))
                        .map(|(_, t)| t.clone())
                        .unwrap_or_else(|| "string".into())
                })
                .collect()
        };
        let names = columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        for batch in rows.chunks(COPY_BATCH_ROWS) {
            let mut sql = format!("insert into {relation} ({names}) values ");
            for (i, row) in batch.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for (j, (value, ty)) in row.iter().zip(&types).enumerate() {
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    match value {
                        None => sql.push_str(&format!("cast(null as {ty})")),
                        Some(v) => sql.push_str(&format!("cast({} as {ty})", string_literal(v))),
                    }
                }
                sql.push(')');
            }
            self.execute(&sql)?;
        }
        Ok(rows.len() as u64)
    }

    fn record_relation(&self, relation: &Relation, kind: Option<RelationType>) {
        if let Some(catalog) = &self.catalog {
            catalog.record(relation, kind);
        }
    }

    fn column_type_for(&self, duckdb_type: &str) -> String {
        type_from_duckdb(duckdb_type)
    }
}

impl SparkConnection {
    /// Every schema (`show schemas`), lower-cased.
    fn schemas(&self) -> Result<Vec<String>> {
        Ok(self
            .run("show schemas")?
            .iter()
            .filter_map(|r| r.get(0).and_then(Value::as_str).map(str::to_lowercase))
            .collect())
    }
}

/// Rows per `insert ... values` statement when loading a seed.
const COPY_BATCH_ROWS: usize = 500;

/// `text` as a Spark string literal: single quotes, with backslashes and
/// quotes escaped (Spark reads `\` as an escape in strings).
fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `(name, type)` of the rows `describe table` or `describe query`
/// returns, up to the first blank or `#` row (partition and detail sections).
fn described(rows: Vec<Vec<Option<String>>>) -> Vec<(String, String)> {
    crate::warehouse::connection::name_type_pairs(rows)
        .into_iter()
        .take_while(|(name, _)| !name.trim().is_empty() && !name.starts_with('#'))
        .collect()
}

/// The Spark type for a column DuckDB typed `duckdb_type`: how a seed read
/// by DuckDB's CSV sniffer gets its Spark table, so both warehouses hold the
/// same values (`DECIMAL(10,2)` is `decimal(10,2)`, `VARCHAR` is `string`,
/// `DOUBLE` is `double`). Unsigned and 128-bit integers widen; anything
/// else is `string`.
pub fn type_from_duckdb(duckdb_type: &str) -> String {
    let upper = duckdb_type.trim().to_ascii_uppercase();
    if let Some(args) = upper.strip_prefix("DECIMAL") {
        return format!("decimal{args}");
    }
    match upper.as_str() {
        "BIGINT" | "UINTEGER" => "bigint",
        "INTEGER" | "USMALLINT" => "int",
        "SMALLINT" | "UTINYINT" => "smallint",
        "TINYINT" => "tinyint",
        "HUGEINT" | "UBIGINT" | "UHUGEINT" => "decimal(38,0)",
        "DOUBLE" => "double",
        "FLOAT" => "float",
        "BOOLEAN" => "boolean",
        "DATE" => "date",
        "TIMESTAMP" | "TIMESTAMP_NS" | "TIMESTAMP_MS" | "TIMESTAMP_S" => "timestamp_ntz",
        "TIMESTAMP WITH TIME ZONE" => "timestamp",
        "BLOB" => "binary",
        _ => "string",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_outside_quotes_and_comments() {
        assert_eq!(
            split_statements("create view a as select ';' as x; -- a;b\n drop table b;\n/* ; */"),
            vec!["create view a as select ';' as x", " -- a;b\n drop table b"]
        );
        assert_eq!(
            split_statements("select 'it\\'s;'"),
            vec!["select 'it\\'s;'"]
        );
        assert_eq!(
            split_statements("select `a;b` from t"),
            vec!["select `a;b` from t"]
        );
        assert!(split_statements(" ; -- only a comment\n").is_empty());
    }

    #[test]
    fn values_print_as_the_other_adapters_print_them() {
        assert_eq!(text(&Value::Date(19_723)).as_deref(), Some("2024-01-01"));
        assert_eq!(
            text(&Value::Timestamp(1_704_103_200_000_000)).as_deref(),
            Some("2024-01-01 10:00:00")
        );
        assert_eq!(
            text(&Value::Timestamp(1_704_103_200_500_000)).as_deref(),
            Some("2024-01-01 10:00:00.5")
        );
        assert_eq!(text(&Value::Null), None);
        assert_eq!(
            json(&Value::Decimal {
                value: "12.50".into(),
                precision: Some(10),
                scale: Some(2)
            }),
            serde_json::json!(12.5)
        );
        assert_eq!(cell(&Value::Long(7)), Cell::Integer(7));
        assert_eq!(string_literal("it's a \\"), "'it\\'s a \\\\'");
    }

    #[test]
    fn duckdb_types_map_to_spark_types() {
        assert_eq!(type_from_duckdb("DECIMAL(10,2)"), "decimal(10,2)");
        assert_eq!(type_from_duckdb("VARCHAR"), "string");
        assert_eq!(type_from_duckdb("TIMESTAMP"), "timestamp_ntz");
        assert_eq!(type_from_duckdb("INTEGER"), "int");
    }

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact("bad token s3cr3t", "sc://h:443/;use_ssl=true;token=s3cr3t"),
            "bad token <hidden>"
        );
    }
}
