//! The columns lineage knows of each relation while the project compiles
//! ([`Schemas`]: computed lineage, the warehouse's columns, seeds' CSV
//! headers, YAML columns), and whether compile computes lineage at all
//! ([`Lineage`]).

use std::collections::HashMap;
use std::path::Path;

use sqlparser::ast::Statement;

use crate::lineage::joins::join_keys;
use crate::lineage::resolve::lineage;
use crate::lineage::types::{ColumnLineage, ColumnRef, Table, Tables};
use crate::manifest::{Manifest, Node, ResourceType};

/// Whether [`crate::compile::compile_all`] computes column lineage while it
/// compiles, and with which warehouse columns.
#[derive(Debug, Clone, Copy)]
pub enum Lineage<'a> {
    /// No lineage: every node compiles in one parallel batch.
    Skip,
    /// Lineage of every compiled model and snapshot, parents first, from the
    /// syntax tree the compile-time SQL check already built (each model is
    /// parsed once). `warehouse`: the columns of relations that exist.
    Compute {
        /// The database's columns, when it exists ([`warehouse_columns`]).
        warehouse: Option<&'a WarehouseColumns>,
    },
}

/// The columns known for every relation lineage can read, filled parents
/// first: nodes whose lineage is computed register what it outputs
/// ([`Schemas::record`]); every other node registers, up front, its columns
/// in the warehouse when a database exists, else a seed's CSV header, else
/// its YAML columns.
pub struct Schemas<'a> {
    tables: Tables,
    manifest: &'a Manifest,
    project_root: &'a Path,
    warehouse: Option<&'a WarehouseColumns>,
}

impl<'a> Schemas<'a> {
    /// Registers every node of `manifest` for which `computed(position)` is
    /// false (seeds' headers are read under `project_root`).
    pub fn new(
        manifest: &'a Manifest,
        project_root: &'a Path,
        warehouse: Option<&'a WarehouseColumns>,
        computed: impl Fn(usize) -> bool,
    ) -> Schemas<'a> {
        let mut schemas = Schemas {
            tables: Tables::default(),
            manifest,
            project_root,
            warehouse,
        };
        for (i, node) in manifest.nodes.iter().enumerate() {
            if !computed(i) {
                let columns = schemas.known_columns(node);
                schemas.register(node, columns);
            }
        }
        schemas
    }

    /// The lineage of `statements` (see [`lineage`]) against what is registered.
    pub fn lineage(&self, statements: &[Statement]) -> Vec<ColumnLineage> {
        lineage(statements, &self.tables)
    }

    /// The join keys of `statements` (see [`join_keys`]) against what is
    /// registered.
    pub fn join_keys(&self, statements: &[Statement]) -> Vec<(ColumnRef, ColumnRef)> {
        join_keys(statements, &self.tables)
    }

    /// Registers the node at `position` with the columns `computed` (its
    /// lineage) outputs, or with what is otherwise known of it when its
    /// lineage could not be computed or names no column.
    pub fn record(&mut self, position: usize, computed: Option<&[ColumnLineage]>) {
        let node = &self.manifest.nodes[position];
        let columns = match computed {
            Some(lin) if !lin.is_empty() => lin.iter().map(|l| l.name.clone()).collect(),
            Some(_) => yaml_columns(node),
            None => self.known_columns(node),
        };
        self.register(node, columns);
    }

    /// The columns registered for `node`'s relation, if it has one.
    pub fn columns(&self, node: &Node) -> Option<Vec<String>> {
        let rel = node.relation.as_ref()?;
        let parts: Vec<String> = if rel.is_cte() {
            vec![rel.identifier.clone()]
        } else {
            vec![
                rel.database.clone(),
                rel.schema.clone(),
                rel.identifier.clone(),
            ]
        };
        self.tables.get(&parts).map(|t| t.columns.clone())
    }

    fn known_columns(&self, node: &Node) -> Vec<String> {
        let in_warehouse = node.relation.as_ref().and_then(|r| {
            self.warehouse?.get(&(
                r.database.to_lowercase(),
                r.schema.to_lowercase(),
                r.identifier.to_lowercase(),
            ))
        });
        match node.resource_type {
            _ if in_warehouse.is_some() => in_warehouse.cloned().unwrap_or_default(),
            ResourceType::Seed => {
                let cols = csv_header(&self.project_root.join(&node.original_file_path));
                if cols.is_empty() {
                    yaml_columns(node)
                } else {
                    cols
                }
            }
            _ => yaml_columns(node),
        }
    }

    fn register(&mut self, node: &Node, columns: Vec<String>) {
        if let Some(rel) = &node.relation {
            let table = Table {
                node: node.unique_id.clone(),
                columns,
            };
            if rel.is_cte() {
                self.tables.insert(&[&rel.identifier], table);
            } else {
                self.tables
                    .insert(&[&rel.database, &rel.schema, &rel.identifier], table);
            }
        }
    }
}

fn yaml_columns(node: &Node) -> Vec<String> {
    node.columns.iter().map(|c| c.name.clone()).collect()
}

/// Column names of every relation in the warehouse, by lowercased
/// `(database, schema, table)`.
pub type WarehouseColumns = HashMap<(String, String, String), Vec<String>>;

/// Reads [`WarehouseColumns`] from DuckDB's `duckdb_columns()` in one query.
///
/// Errors: [`crate::ErrorKind::Database`].
pub fn warehouse_columns(
    conn: &dyn crate::warehouse::connection::Connection,
) -> crate::error::Result<WarehouseColumns> {
    let mut out = WarehouseColumns::new();
    for [db, schema, table, column] in conn.all_columns()? {
        out.entry((
            db.to_lowercase(),
            schema.to_lowercase(),
            table.to_lowercase(),
        ))
        .or_default()
        .push(column);
    }
    Ok(out)
}

/// The column names of a CSV file's header, or none.
fn csv_header(path: &Path) -> Vec<String> {
    csv::Reader::from_path(path)
        .ok()
        .and_then(|mut r| r.headers().ok().cloned())
        .map(|h| h.iter().map(|c| c.trim().to_owned()).collect())
        .unwrap_or_default()
}
