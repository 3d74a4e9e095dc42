//! The warehouse engines, each implementing
//! [`crate::warehouse::connection::Warehouse`] and `Connection`, the traits
//! materializations and tests call: DuckDB (embedded, the default) and
//! PostgreSQL and Apache Spark (Spark Connect). [`open`] picks one from the
//! target's `type`.

pub mod duckdb;
mod kept_session;
pub mod postgres;
mod postgres_tls;
pub mod spark;

use crate::error::{Error, ErrorKind, Result};
use crate::project::Target;
use crate::warehouse::engine::Warehouse;

/// Opens `target`'s warehouse: its DuckDB file (created if needed), or a
/// connection to its PostgreSQL or Spark Connect server.
///
/// Errors: [`ErrorKind::Database`] when a DuckDB file cannot be opened;
/// [`ErrorKind::Profile`], located in profiles.yml, when a server cannot be
/// reached or the target's adapter is unknown.
pub fn open(target: &Target) -> Result<Box<dyn Warehouse>> {
    if let Some(profile) = &target.spark {
        return Ok(Box::new(spark::SparkWarehouse::open(profile)?));
    }
    match &target.postgres {
        Some(profile) => Ok(Box::new(postgres::PostgresWarehouse::open(profile)?)),
        None if target.adapter_type == "duckdb" => Ok(Box::new(duckdb::Database::open(target)?)),
        None => Err(Error::new(
            ErrorKind::Profile,
            format!(
                "target `{}` has type `{}`, which sluice cannot connect to",
                target.name, target.adapter_type
            ),
        )
        .with_hint("sluice supports `type: duckdb`, `type: postgres` and `type: spark`")),
    }
}

/// Opens `target`'s warehouse for commands that only read (`sluice show`):
/// DuckDB's file in `READ_ONLY` mode, which must exist; a server as [`open`].
///
/// Errors: as [`open`]; [`ErrorKind::MissingFile`] for a DuckDB file not built yet.
pub fn open_read_only(target: &Target) -> Result<Box<dyn Warehouse>> {
    if target.postgres.is_some() || target.spark.is_some() {
        return open(target);
    }
    Ok(Box::new(duckdb::Database::open_read_only(target)?))
}

/// The target's warehouse when it already holds something to read, for
/// commands that do not build (compile's lineage, docs): an existing DuckDB
/// file, or a reachable server. `None` when there is none yet or it cannot
/// be opened (a locked file, a server down).
pub fn open_existing(target: &Target) -> Option<Box<dyn Warehouse>> {
    if target.adapter_type == "duckdb"
        && (target.path == ":memory:" || !std::path::Path::new(&target.path).exists())
    {
        return None;
    }
    open(target).ok()
}

/// How compile-time checks read `target`'s SQL ([`crate::sql::parse`]):
/// sqlparser's DuckDB dialect judged by DuckDB's own parser on DuckDB;
/// sqlparser's PostgreSQL dialect on PostgreSQL; its Hive dialect (Spark
/// SQL's grammar, with `"` quoting identifiers as sluice's Spark sessions
/// set) on Spark. Other warehouses' parsers are on their servers, not at
/// compile time, so there SQL that sqlparser cannot read is left to the
/// warehouse (it gets no column lineage, and no syntax error before it runs).
pub fn sql_dialect(target: &Target) -> crate::sql::SqlDialect {
    use sqlparser::dialect::{HiveDialect, PostgreSqlDialect};
    match target.adapter_type.as_str() {
        "postgres" => crate::sql::SqlDialect {
            parser: &PostgreSqlDialect {},
            engine: |_| true,
        },
        "spark" => crate::sql::SqlDialect {
            parser: &HiveDialect {},
            engine: |_| true,
        },
        _ => crate::sql::SqlDialect::duckdb(duckdb::parser_accepts),
    }
}
