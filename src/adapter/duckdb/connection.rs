//! [`DuckDbConnection`]: one DuckDB connection as a warehouse
//! [`Connection`], answering catalog questions from DuckDB's own
//! `duckdb_tables()` and `duckdb_columns()`.

use std::sync::Arc;

use crate::adapter::duckdb::values::{value_to_cell, value_to_json, value_to_string};
use crate::error::{Error, ErrorKind, Result};
use crate::warehouse::catalog::{relation_type_of, Catalog};
use crate::warehouse::connection::{CellTable, Connection, RelationType, RowCounts, Table, TxEnd};
use crate::warehouse::relation::{literal, Relation};

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

impl Connection for DuckDbConnection {
    fn adapter_type(&self) -> &'static str {
        "duckdb"
    }

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
            return Ok(catalog.get(relation));
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
            catalog.record(relation, kind);
        }
    }

    fn relations(&self) -> Result<Vec<[String; 4]>> {
        // Not information_schema.tables: its views cost ~15 ms to bind.
        self.text_rows(
            "select database_name, schema_name, table_name, 'BASE TABLE' from duckdb_tables() where not internal \
             union all select database_name, schema_name, view_name, 'VIEW' from duckdb_views() where not internal",
        )
    }

    fn columns(&self, relation: &Relation) -> Result<Vec<(String, String)>> {
        // DuckDB resolves names ignoring case: schema `main_Marts` is the
        // `main_marts` another model created first. duckdb_columns() is
        // what information_schema.columns reads, without its joins (a
        // lookup takes a third of the time).
        let rows = self.query(&format!(
            "select column_name, data_type from duckdb_columns() where lower(database_name) = lower({}) and lower(schema_name) = lower({}) and lower(table_name) = lower({}) order by column_index",
            literal(&relation.database),
            literal(&relation.schema),
            literal(&relation.identifier)
        ))?;
        Ok(crate::warehouse::connection::name_type_pairs(rows))
    }

    fn row_counts(&self) -> Result<Option<RowCounts>> {
        // DuckDB keeps each table's row count in its catalog: one query, not one per table.
        let rows = self.text_rows(
            "select database_name, schema_name, table_name, estimated_size from duckdb_tables()",
        )?;
        Ok(Some((
            "Rows in the table, from DuckDB's catalog",
            rows.into_iter()
                .map(|[d, s, t, n]| ([d, s, t], n.parse().unwrap_or(0)))
                .collect(),
        )))
    }

    fn all_columns(&self) -> Result<Vec<[String; 4]>> {
        // duckdb_columns(): information_schema's views cost ~15 ms to bind.
        self.text_rows(
            "select database_name, schema_name, table_name, column_name from duckdb_columns() where not internal order by database_name, schema_name, table_name, column_index",
        )
    }
}

impl DuckDbConnection {
    /// The first four columns of each row of `sql`, as text (empty for NULL).
    fn text_rows(&self, sql: &str) -> Result<Vec<[String; 4]>> {
        Ok(self
            .query(sql)?
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                [text(0), text(1), text(2), text(3)]
            })
            .collect())
    }
}
