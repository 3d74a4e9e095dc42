//! The grain's public types: [`Grain`] ([`Key`]s and [`NotNull`]
//! columns), what a walk found ([`Inference`]: [`FanOut`] joins,
//! nondeterminism [`Finding`]s, [`Nullable`] columns).

use serde::Serialize;

use crate::grain::shape::Shape;

/// A set of columns no two rows share: a key of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Key {
    /// The key's columns, lowercased and sorted; empty when the relation
    /// has at most one row.
    pub columns: Vec<String>,
    /// Whether the key holds with NULL counted as a value (a `group by`
    /// key: at most one row per value, NULL included); else it holds among
    /// rows whose key columns are not NULL (as dbt's `unique` test, which
    /// ignores NULLs). A key over not-null columns always holds with NULLs.
    pub with_nulls: bool,
    /// Why it is a key, in words, from the declaration it rests on.
    pub reason: String,
}

/// A column that is never NULL, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotNull {
    /// The column, lowercased.
    pub column: String,
    /// Why it is never NULL, in words.
    pub reason: String,
}

/// What is known of a relation's rows: its keys and its not-null columns.
/// Empty when nothing is proven. Written per node in manifest.json
/// (`grain`) and shown in the docs site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Grain {
    /// Minimal keys: no key contains another one.
    pub keys: Vec<Key>,
    /// Not-null columns, sorted by name.
    pub not_null: Vec<NotNull>,
}

impl Grain {
    /// The grain of the walk's `shape` of a relation: its keys (already
    /// minimal), shortest first, and its not-null columns.
    pub(crate) fn of(shape: &Shape) -> Grain {
        let mut keys: Vec<Key> = shape
            .keys
            .iter()
            .map(|k| Key {
                columns: k.columns.iter().cloned().collect(),
                with_nulls: k.with_nulls,
                reason: k.reason.clone(),
            })
            .collect();
        keys.sort_by(|a, b| (a.columns.len(), &a.columns).cmp(&(b.columns.len(), &b.columns)));
        Grain {
            keys,
            not_null: shape
                .not_null
                .iter()
                .map(|(c, r)| NotNull {
                    column: c.clone(),
                    reason: r.clone(),
                })
                .collect(),
        }
    }

    /// The key proving `columns` (any case) unique, if any: a key
    /// contained in them (with NULLs when `with_nulls` is asked, as
    /// `unique_combination_of_columns` groups NULLs together).
    pub fn key_within(&self, columns: &[String], with_nulls: bool) -> Option<&Key> {
        let wanted: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
        self.keys.iter().find(|k| {
            k.columns.iter().all(|c| wanted.contains(c))
                && (!with_nulls || k.with_nulls || k.columns.iter().all(|c| self.is_not_null(c)))
        })
    }

    /// Why `column` (any case) is never NULL, if it is proven so.
    pub fn not_null_reason(&self, column: &str) -> Option<&str> {
        let column = column.to_lowercase();
        self.not_null
            .iter()
            .find(|n| n.column == column)
            .map(|n| n.reason.as_str())
    }

    fn is_not_null(&self, column: &str) -> bool {
        self.not_null.iter().any(|n| n.column == column)
    }
}

/// A join that can multiply the rows of its left side: its right side is
/// not known to be unique on the join columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FanOut {
    /// Line and column (1-based) of the joined relation in the parsed SQL.
    pub line: usize,
    /// See `line`.
    pub column: usize,
    /// The joined relation as the model names it (alias or CTE).
    pub right: String,
    /// The node (or table) behind it, when the right side reads one
    /// relation: the upstream model that lacks the key.
    pub upstream: Option<String>,
    /// The right side's join columns (empty for a cross join or an
    /// unrecognised condition).
    pub columns: Vec<String>,
    /// The left side's relation(s) whose rows are multiplied.
    pub left: String,
}

/// A nondeterministic expression: its result can differ between two runs
/// on the same data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Line and column (1-based) of the expression in the parsed SQL.
    pub line: usize,
    /// See `line`.
    pub column: usize,
    /// What is nondeterministic, in words.
    pub message: String,
    /// How to make it deterministic.
    pub hint: String,
}

/// An output column an outer join can make NULL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nullable {
    /// The output column, lowercased.
    pub name: String,
    /// The join, as written (`left join x on ...`).
    pub join: String,
    /// Line and column (1-based) of the join's relation in the parsed SQL.
    pub line: usize,
    /// See `line`.
    pub column: usize,
}

/// What inferring a model's grain found: its [`Grain`], the joins that
/// can multiply rows, and the nondeterministic expressions.
#[derive(Debug, Clone, Default)]
pub struct Inference {
    /// The grain of the statement's output.
    pub grain: Grain,
    /// Every join that can multiply rows, in the SQL's order.
    pub fan_outs: Vec<FanOut>,
    /// Every nondeterministic expression, in the SQL's order.
    pub findings: Vec<Finding>,
    /// Output columns read from the NULL side of an outer join.
    pub nullable: Vec<Nullable>,
    /// The walk's view of the output, registered for the children.
    pub(crate) shape: Option<Shape>,
}
