//! The grain of every model: which sets of its columns are unique (its
//! keys) and which columns are never NULL, each with the reason, inferred
//! through the SQL from what is declared upstream (seeds' and sources'
//! `unique` / `not_null` tests and constraints); with what the same walk
//! finds wrong: joins that can multiply a model's rows (fan-out), and
//! expressions whose result can change from one run to the next
//! (nondeterminism). sluice's extension: dbt, dbt's Rust engine and
//! SQLMesh infer column types at most.
//!
//! Conservative by design: when a step is not understood, nothing is
//! inferred through it. A key or a not-null column is only claimed on a
//! proof whose every step is a rule below, each unit-tested in `infer`:
//! - a relation's declared keys ([`facts`]): an unconditional `unique` test
//!   (unique among non-NULL values, as dbt's test), `unique_combination_of_columns`,
//!   a `primary_key` or `unique` constraint;
//! - projection keeps a key whose columns are all selected as plain references;
//! - `group by g` makes `g` a key (when every expression of `g` is
//!   selected); an aggregate without `group by` is one row (the empty key);
//! - `distinct` makes all the columns a key, `distinct on (c)` makes `c` one;
//! - `row_number() over (partition by p ...)` as a column `rn` makes
//!   `(p, rn)` a key, and `qualify row_number() ... = 1` (or a later
//!   `where rn = 1`, by the constant rule) makes `p` one;
//! - a column equal to a constant (`where c = 'x'`) drops out of keys;
//! - a join whose right side is unique on the join columns keeps the left
//!   side's keys (a left join too); when both sides are, it is one-to-one
//!   and an inner join keeps the right side's keys as well; otherwise each
//!   left key with each right key is a key, and the join is a fan-out;
//! - `union` (distinct) makes all the columns a key; `union all` keeps a key
//!   only when a column holds a different constant on each side (disjoint);
//! - `x is not null`, a comparison, an inner join's equality, `coalesce(x,
//!   <literal>)`, a literal and `count(...)` are not NULL; the NULL side of an
//!   outer join loses its not-null columns.

mod facts;
mod infer;
mod lint;
mod proof;
mod scope;
mod shape;
mod types;

pub use facts::{declared_grain, tested_node, Declared, DeclaredGrain, Grains};
pub use proof::{prove, Proof};
pub use types::{FanOut, Finding, Grain, Inference, Key, NotNull, Nullable};
