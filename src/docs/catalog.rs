//! `catalog.json` in dbt's shape (catalog v1): for every model, seed,
//! snapshot and source table that exists in the warehouse, its type,
//! columns (name, type, position) and row count, read from DuckDB's
//! catalog after a build.

use std::collections::HashMap;

use serde_json::{json, Map, Value as Json};

use crate::docs::artifacts::{metadata, Invocation};
use crate::error::Result;
use crate::manifest::{Manifest, ResourceType};
use crate::warehouse::connection::Connection;

/// `(database, schema, table)`, lowercased.
type Key = (String, String, String);

/// The catalog document for `manifest`'s nodes, read through `conn`.
/// Nodes whose relation does not exist are left out, as dbt does.
///
/// Errors: [`crate::ErrorKind::Database`] when the catalog cannot be read.
pub fn catalog_json(manifest: &Manifest, conn: &dyn Connection, inv: &Invocation) -> Result<Json> {
    let key = |d: &str, s: &str, t: &str| (d.to_lowercase(), s.to_lowercase(), t.to_lowercase());
    let mut columns: HashMap<Key, Vec<(String, String, i64)>> = HashMap::new();
    for r in conn.query(
        "select table_catalog, table_schema, table_name, column_name, data_type, ordinal_position from information_schema.columns order by 1, 2, 3, 6",
    )? {
        let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        columns
            .entry(key(&text(0), &text(1), &text(2)))
            .or_default()
            .push((text(3), text(4), text(5).parse().unwrap_or(0)));
    }
    let mut kinds: HashMap<Key, String> = HashMap::new();
    for r in conn.query(
        "select table_catalog, table_schema, table_name, table_type from information_schema.tables",
    )? {
        let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        kinds.insert(key(&text(0), &text(1), &text(2)), text(3));
    }
    // DuckDB keeps each table's row count in its catalog: one query, not one per table.
    let mut rows: HashMap<Key, i64> = HashMap::new();
    // PostgreSQL: its planner estimate (`reltuples`); none before the first analyze.
    let duckdb = conn.adapter_type() == "duckdb";
    let counted_by = if duckdb {
        "Rows in the table, from DuckDB's catalog"
    } else {
        "Rows in the table, as PostgreSQL last estimated them (pg_class.reltuples)"
    };
    let counts = if duckdb {
        "select database_name, schema_name, table_name, estimated_size from duckdb_tables()"
    } else {
        "select current_database(), n.nspname, c.relname, c.reltuples::bigint from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' and c.reltuples >= 0"
    };
    for r in conn.query(counts)? {
        let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        rows.insert(
            key(&text(0), &text(1), &text(2)),
            text(3).parse().unwrap_or(0),
        );
    }
    let mut nodes = Map::new();
    let mut sources = Map::new();
    for node in &manifest.nodes {
        if !matches!(
            node.resource_type,
            ResourceType::Model
                | ResourceType::Seed
                | ResourceType::Snapshot
                | ResourceType::Source
        ) {
            continue;
        }
        let Some(rel) = node.relation.as_ref().filter(|r| !r.is_cte()) else {
            continue;
        };
        let k = key(&rel.database, &rel.schema, &rel.identifier);
        let Some(kind) = kinds.get(&k) else { continue };
        let cols: Map<String, Json> = columns
            .get(&k)
            .into_iter()
            .flatten()
            .map(|(name, ty, index)| {
                let comment = node
                    .columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .map(|c| c.description.clone())
                    .filter(|d| !d.is_empty());
                (
                    name.clone(),
                    json!({"type": ty, "index": index, "name": name, "comment": comment}),
                )
            })
            .collect();
        let mut stats = json!({
            "has_stats": {"id": "has_stats", "label": "Has Stats?", "value": false, "include": false, "description": "Indicates whether there are statistics for this table"},
        });
        if let Some(n) = rows.get(&k).filter(|_| kind == "BASE TABLE") {
            stats = json!({
                "row_count": {"id": "row_count", "label": "Row Count", "value": n, "include": true, "description": counted_by},
                "has_stats": {"id": "has_stats", "label": "Has Stats?", "value": true, "include": false, "description": "Indicates whether there are statistics for this table"},
            });
        }
        let entry = json!({
            "metadata": {
                "type": kind,
                "schema": rel.schema,
                "name": rel.identifier,
                "database": rel.database,
                "comment": null,
                "owner": null,
            },
            "columns": cols,
            "stats": stats,
            "unique_id": node.unique_id,
        });
        if node.resource_type == ResourceType::Source {
            sources.insert(node.unique_id.clone(), entry);
        } else {
            nodes.insert(node.unique_id.clone(), entry);
        }
    }
    Ok(json!({
        "metadata": metadata(inv, "https://schemas.getdbt.com/dbt/catalog/v1.json", None),
        "nodes": nodes,
        "sources": sources,
        "errors": null,
    }))
}
