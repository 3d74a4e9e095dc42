//! Artifacts for tooling: `manifest.json` and `run_results.json` in dbt's shape.

pub mod artifacts;
pub mod catalog;
