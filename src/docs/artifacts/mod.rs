//! `target/manifest.json` and `target/run_results.json`, in the shape of
//! dbt's v12 manifest and v6 run results: the fields a dbt user's tooling
//! reads (nodes with unique_id, resource_type, depends_on, config, paths;
//! results with status, timing, message, failures).
//!
//! The shared parts are in `invocation` (the metadata block) and `write`
//! (files written atomically, entries in chunks); each artifact has its
//! writer (`manifest_json`, `run_results`), and `node_entry` holds a
//! node's manifest entry, which the docs site's flat graph reuses.

mod invocation;
mod manifest_json;
mod node_entry;
mod run_results;
mod write;

pub use crate::docs::artifacts::invocation::{metadata, Invocation};
pub use crate::docs::artifacts::manifest_json::write_manifest_json;
pub(crate) use crate::docs::artifacts::node_entry::NodeEntry;
pub use crate::docs::artifacts::run_results::write_run_results_json;
pub use crate::docs::artifacts::write::{write_json, write_text, write_with};
pub use crate::project::installed::DBT_VERSION_COMPAT;
