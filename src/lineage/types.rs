//! What column lineage reads and produces: the lineage of an output column
//! ([`ColumnLineage`], its [`LineageKind`] and upstream [`ColumnRef`]s),
//! and the relations it can read ([`Tables`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

/// How an output column relates to its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineageKind {
    /// The same value under the same name.
    Copy,
    /// The same value under another name.
    Rename,
    /// Computed: an expression, an aggregate, a window, a union of columns.
    Transformation,
}

/// One upstream column: the node (unique_id, or the table's name when no
/// node owns it) and the column name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ColumnRef {
    /// unique_id of the node, or the table name as written.
    pub node: String,
    /// Column name.
    pub column: String,
}

/// The lineage of one output column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnLineage {
    /// Output column name.
    pub name: String,
    /// Copy, rename or transformation.
    pub kind: LineageKind,
    /// Upstream columns, sorted.
    pub sources: Vec<ColumnRef>,
}

/// A relation lineage can read: its owner and its columns, when known.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// unique_id of the node that builds it (or its name).
    pub node: String,
    /// Its columns, in order; empty when unknown.
    pub columns: Vec<String>,
}

/// Relations by name: keys are lowercased `db.schema.name`, `schema.name`
/// and `name`, so a table is found however it is qualified. Holds what an
/// analysis knows of each relation: its [`Table`] for lineage, its grain
/// for [`crate::grain`].
#[derive(Debug, Clone)]
pub struct Tables<T = Table> {
    by_key: HashMap<String, Arc<T>>,
}

impl<T> Default for Tables<T> {
    fn default() -> Self {
        Tables {
            by_key: HashMap::new(),
        }
    }
}

impl<T> Tables<T> {
    /// Registers `table` under every suffix of `parts` (`[db, schema, name]`);
    /// a key already taken keeps its first table.
    pub fn insert(&mut self, parts: &[&str], table: T) {
        // One table under up to three keys: shared, not copied.
        let table = Arc::new(table);
        for start in 0..parts.len() {
            let key = parts[start..].join(".").to_lowercase();
            self.by_key.entry(key).or_insert_with(|| table.clone());
        }
    }

    /// The table registered under `parts` (as written: `name`,
    /// `schema.name` or `db.schema.name`, any case), if any.
    pub fn get(&self, parts: &[String]) -> Option<&T> {
        self.by_key
            .get(&parts.join(".").to_lowercase())
            .map(|t| &**t)
    }
}
