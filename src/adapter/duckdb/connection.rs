//! [`DuckDbConnection`]: one DuckDB connection as a warehouse
//! [`Connection`], and the [`Catalog`] of existing relations a run's
//! connections share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::adapter::duckdb::values::{value_to_cell, value_to_json, value_to_string};
use crate::error::{Error, ErrorKind, Result};
use crate::warehouse::connection::{CellTable, Connection, RelationType, Table, TxEnd};
use crate::warehouse::relation::Relation;

pub(super) fn db_error(err: &duckdb::Error, sql: Option<&str>) -> Error {
    let msg = err.to_string();
    let e = Error::new(ErrorKind::Database, msg.trim().to_owned());
    match sql {
        Some(sql) if sql.len() < 2000 => e.with_note(format!("while running:\n{}", sql.trim())),
        _ => e,
    }
}

/// One DuckDB connection.
pub struct DuckDbConnection {
    pub(super) conn: duckdb::Connection,
    pub(super) catalog: Option<Arc<Catalog>>,
}

/// A snapshot of which relations exist, shared by a run's connections and
/// kept current by the materializations ([`Connection::record_relation`]).
/// A lookup in DuckDB's information_schema costs about 9 ms on a catalog of
/// a thousand relations, which made per-model lookups dominate `run`.
#[derive(Debug, Default)]
pub struct Catalog {
    pub(super) relations: Mutex<HashMap<(String, String, String), RelationType>>,
}

pub(super) fn catalog_key(r: &Relation) -> (String, String, String) {
    (
        r.database.to_lowercase(),
        r.schema.to_lowercase(),
        r.identifier.to_lowercase(),
    )
}

pub(super) fn relation_type_of(table_type: &str) -> RelationType {
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
