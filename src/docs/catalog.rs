//! `catalog.json` in dbt's shape (catalog v1): for every model, seed,
//! snapshot and source table that exists in the warehouse, its type,
//! columns (name, type, position) and row count (where the warehouse keeps
//! one), read from the warehouse's catalog after a build.

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
    for [db, schema, table, column, ty] in conn.column_types()? {
        let entry = columns.entry(key(&db, &schema, &table)).or_default();
        // `index` is the column's position, from 1, as information_schema's ordinal_position.
        let index = entry.len() as i64 + 1;
        entry.push((column, ty, index));
    }
    let kinds: HashMap<Key, String> = conn
        .relations()?
        .into_iter()
        .map(|[db, schema, table, kind]| (key(&db, &schema, &table), kind))
        .collect();
    let (counted_by, counts) = conn.row_counts()?.unwrap_or(("", Vec::new()));
    let rows: HashMap<Key, i64> = counts
        .into_iter()
        .map(|([db, schema, table], n)| (key(&db, &schema, &table), n))
        .collect();
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
