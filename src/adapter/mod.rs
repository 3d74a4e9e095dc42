//! The warehouse engines. DuckDB is the first (and embedded default) one:
//! it implements [`crate::warehouse::connection::Connection`], the trait
//! materializations and tests call, so another engine can be added without
//! touching them.

pub mod duckdb;
pub mod postgres;
