//! A model's `materialized` config, typed: the one place where
//! materialization names are compared.

/// A model's `materialized` config, as dbt names the built-in ones; any
/// other name is a custom materialization (`{% materialization %}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Materialization {
    /// `view` (dbt's default for models).
    View,
    /// `table`.
    Table,
    /// `incremental`.
    Incremental,
    /// `ephemeral`: inlined as a CTE, never built.
    Ephemeral,
    /// `external`: a file written by dbt-duckdb's materialization.
    External,
    /// `seed` (what seeds are materialized as).
    Seed,
    /// `snapshot` (what snapshots are materialized as).
    Snapshot,
    /// Any other name.
    Custom(String),
}

impl Materialization {
    /// The materialization called `name` (dbt's names).
    pub fn parse(name: &str) -> Materialization {
        match name {
            "view" => Materialization::View,
            "table" => Materialization::Table,
            "incremental" => Materialization::Incremental,
            "ephemeral" => Materialization::Ephemeral,
            "external" => Materialization::External,
            "seed" => Materialization::Seed,
            "snapshot" => Materialization::Snapshot,
            other => Materialization::Custom(other.to_owned()),
        }
    }

    /// dbt's name for it (`view`, `table`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Materialization::View => "view",
            Materialization::Table => "table",
            Materialization::Incremental => "incremental",
            Materialization::Ephemeral => "ephemeral",
            Materialization::External => "external",
            Materialization::Seed => "seed",
            Materialization::Snapshot => "snapshot",
            Materialization::Custom(name) => name,
        }
    }
}
