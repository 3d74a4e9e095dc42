//! Column-level lineage: for each output column of a node, the upstream
//! columns it is computed from, and whether it is a copy, a rename or a
//! transformation.
//!
//! Computed from sqlparser's AST of the compiled SQL, through CTEs,
//! subqueries (in `FROM` and in expressions, correlated ones included),
//! joins with aliases, aggregates, window functions (their `PARTITION BY`
//! and `ORDER BY` columns count), `CASE`, set operations (by position), and
//! `select *` / `t.*` with DuckDB's `EXCLUDE` and `REPLACE`, expanded from
//! the columns known for each relation (seeds' CSV headers, YAML columns,
//! upstream models' own lineage). A column whose table is unknown, or an
//! unqualified column with several candidate tables of unknown columns, is
//! attributed to every candidate rather than guessed.
//!
//! The types are in `types`, the resolution of a statement's columns in
//! `resolve`, the columns known of each relation in `schemas`, the join
//! keys of a model resolved to its inputs' columns in `joins`.

mod explain;
mod joins;
mod resolve;
mod schemas;
mod types;
mod why;

pub use crate::lineage::explain::{column_steps, Step};
pub use crate::lineage::joins::join_keys;
pub(crate) use crate::lineage::resolve::excluded_columns;
pub use crate::lineage::resolve::lineage;
pub use crate::lineage::schemas::{warehouse_columns, Lineage, Schemas, WarehouseColumns};
pub use crate::lineage::types::{ColumnLineage, ColumnRef, LineageKind, Table, Tables};
pub use crate::lineage::why::{check_pins, why_notes, Pin, PinnedNotes, WhyNote, PINS_FILE};
