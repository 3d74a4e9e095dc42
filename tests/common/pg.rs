//! A PostgreSQL server for the adapter tests, and reading what they built.
//!
//! `.ci/run` starts one with `scripts/pg-server` and exports
//! `SLUICE_PG_HOST`, `SLUICE_PG_PORT`, `SLUICE_PG_USER` and
//! `SLUICE_PG_PASSWORD`. Under `CI` a missing server fails the tests;
//! locally they print how to start one and return.

use sluice::warehouse::connection::Connection;

use super::TempProject;

/// Where the test server listens, and its password.
pub struct Server {
    pub host: String,
    pub port: String,
    pub user: String,
    pub password: String,
    /// The CA that signed the server's certificate (scripts/pg-server's
    /// `SLUICE_PG_ROOTCERT`), when the server offers TLS.
    pub rootcert: Option<String>,
}

pub fn server() -> Option<Server> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        var("SLUICE_PG_HOST"),
        var("SLUICE_PG_PORT"),
        var("SLUICE_PG_USER"),
        var("SLUICE_PG_PASSWORD"),
    ) {
        (Some(host), Some(port), Some(user), Some(password)) => Some(Server {
            host,
            port,
            user,
            password,
            rootcert: var("SLUICE_PG_ROOTCERT"),
        }),
        _ if std::env::var_os("CI").is_some() => {
            panic!("no PostgreSQL test server: .ci/run starts one with scripts/pg-server and exports SLUICE_PG_*")
        }
        _ => {
            eprintln!(
                "PostgreSQL tests not run: start a server with `eval \"$(scripts/pg-server start)\"` and run them again"
            );
            None
        }
    }
}

/// A temp example_project whose profiles.yml targets the server, the
/// password read with `env_var` as dbt users write it.
pub fn project_on(s: &Server, schema: &str) -> TempProject {
    copy_on(s, "example_project", schema)
}

/// A temp copy of the project at `rel` (from the repository root) whose
/// profiles.yml targets the server, building into `schema`.
pub fn copy_on(s: &Server, rel: &str, schema: &str) -> TempProject {
    let p = TempProject::copy_of(rel);
    let project: serde_yaml::Value =
        serde_yaml::from_str(&p.read("dbt_project.yml")).expect("dbt_project.yml");
    let profile = project["profile"].as_str().expect("a profile name");
    p.write(
        "profiles.yml",
        &format!(
            "{profile}:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: {}\n      port: {}\n      user: {}\n      password: \"{{{{ env_var('SLUICE_PG_PASSWORD') }}}}\"\n      dbname: postgres\n      schema: {schema}\n      threads: 2\n",
            s.host, s.port, s.user
        ),
    );
    p
}

/// The adapter's profile for the test server, for connecting from a test.
pub fn profile(s: &Server) -> sluice::project::PostgresProfile {
    sluice::project::PostgresProfile {
        host: s.host.clone(),
        port: s.port.parse().unwrap(),
        user: s.user.clone(),
        password: s.password.clone(),
        dbname: "postgres".into(),
        sslmode: "prefer".into(),
        sslrootcert: String::new(),
        connect_timeout: 10,
        location: None,
    }
}

/// Every file under `dir`, as text, for secret scans.
pub fn all_text(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if entry.file_type().is_file() {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    out
}

/// Drops the schemas a test builds into, so it starts from an empty warehouse.
pub fn drop_schemas(s: &Server, schemas: &[&str]) {
    let conn = sluice::adapter::postgres::connect(&profile(s)).expect("connect");
    for schema in schemas {
        conn.execute(&format!("drop schema if exists \"{schema}\" cascade"))
            .unwrap();
    }
}

/// A value as text both warehouses agree on: JSON numbers and booleans
/// printed (so DuckDB's `DOUBLE` 4.5 and PostgreSQL's `numeric` 4.50 are
/// one number), NULL as `NULL`, a timestamp's `T` as a space. A timestamp at
/// midnight in UTC is its date: `date_trunc('month', <date>)` is a DATE on
/// DuckDB and a timestamptz at midnight on PostgreSQL, in dbt-duckdb and
/// dbt-postgres alike (README, "Warehouses").
pub fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => {
            let s = s.replacen('T', " ", 1);
            let s = s.strip_suffix("+00").unwrap_or(&s);
            let s = s.strip_suffix("+00:00").unwrap_or(s);
            s.strip_suffix(" 00:00:00").unwrap_or(s).to_owned()
        }
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            Some(f) => format!("{f}"),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Every row of `relation` on `conn` as [`canonical`] text, without the
/// columns named in `skip`, sorted.
pub fn canonical_rows(conn: &dyn Connection, relation: &str, skip: &[&str]) -> Vec<Vec<String>> {
    let table = conn
        .query_table(&format!("select * from {relation}"))
        .unwrap_or_else(|e| panic!("{relation}: {}", e.message()));
    let keep: Vec<usize> = (0..table.columns.len())
        .filter(|&i| !skip.contains(&table.columns[i].as_str()))
        .collect();
    let mut rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| keep.iter().map(|&i| canonical(&r[i])).collect())
        .collect();
    rows.sort();
    rows
}
