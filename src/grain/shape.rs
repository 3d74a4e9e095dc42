//! What the grain walk knows of a relation in scope ([`Shape`]): its
//! columns, keys, not-null columns, constants and NULL-able columns, and
//! how keys are kept minimal.

use std::collections::{BTreeMap, BTreeSet};

/// A key while the walk runs: column names (lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShapeKey {
    pub(crate) columns: BTreeSet<String>,
    pub(crate) with_nulls: bool,
    pub(crate) reason: String,
}

/// What the walk knows of a relation in scope: its columns (when known),
/// keys, not-null columns, columns holding one constant, and columns that
/// an outer join can make NULL.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shape {
    /// Output columns in order, lowercased; `None` when not known.
    pub(crate) columns: Option<Vec<String>>,
    pub(crate) keys: Vec<ShapeKey>,
    /// Not-null column -> why.
    pub(crate) not_null: BTreeMap<String, String>,
    /// Column -> the one literal it holds (SQL text).
    pub(crate) constants: BTreeMap<String, String>,
    /// Column -> the outer join that can make it NULL, and where.
    pub(crate) nullable: BTreeMap<String, (String, (usize, usize))>,
    /// The node or table behind the relation when it reads exactly one.
    pub(crate) upstream: Option<String>,
}

impl Shape {
    /// Drops constant columns out of keys, marks keys over not-null
    /// columns as holding with NULLs, and removes keys implied by others.
    pub(crate) fn normalize(&mut self) {
        for key in &mut self.keys {
            let constant: Vec<String> = key
                .columns
                .iter()
                .filter(|c| self.constants.contains_key(*c))
                .cloned()
                .collect();
            for c in constant {
                key.columns.remove(&c);
                key.reason = format!("{}; `{c}` holds one value", key.reason);
            }
            if !key.with_nulls && key.columns.iter().all(|c| self.not_null.contains_key(c)) {
                key.with_nulls = true;
            }
        }
        self.keys = minimal(std::mem::take(&mut self.keys));
    }
}

/// Keys with none implied by another: a key containing another one that
/// holds at least as strongly is dropped; of equal keys the first stays.
pub(crate) fn minimal(keys: Vec<ShapeKey>) -> Vec<ShapeKey> {
    let mut out: Vec<ShapeKey> = Vec::with_capacity(keys.len());
    for key in keys {
        let implied = |by: &ShapeKey| {
            by.columns.is_subset(&key.columns) && (by.with_nulls || !key.with_nulls)
        };
        if out.iter().any(implied) {
            continue;
        }
        out.retain(|o| !(key.columns.is_subset(&o.columns) && (key.with_nulls || !o.with_nulls)));
        out.push(key);
    }
    out
}
