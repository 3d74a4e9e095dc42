//! Artifacts for tooling (`manifest.json`, `run_results.json`,
//! `catalog.json` in dbt's shape) and the documentation site.

pub mod artifacts;
pub mod catalog;
pub mod flat_graph;
pub mod serve;
pub mod site;
