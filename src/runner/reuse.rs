//! Model freshness (`freshness.build_after`, dbt 1.10+, as dbt's
//! state-aware orchestration decides): a model that sets it is built again
//! only when its inputs have new data since its last build (`updates_on:
//! any` or `all`) and at least `build_after` has passed since then; else it
//! is reused as it is. A change to its SQL or config, a missing relation,
//! `--full-refresh` or no record of a build always builds it.
//!
//! What "last build" means comes from `target/build_state.json`, which
//! `run` and `build` keep: each model's, seed's and snapshot's last
//! successful build time and the fingerprint (file and config) it was built
//! from. A source's data time is its `max_loaded_at` in
//! `target/sources.json` (from `sluice source freshness`); a source without
//! one counts as having new data, so nothing is skipped on a guess.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use chrono::NaiveDateTime;
use serde_json::{json, Value as Json};

use crate::error::{Error, Result};
use crate::execute::{NodeResult, Status};
use crate::manifest::{Manifest, Node, ResourceType};
use crate::project::config::build_after::{BuildAfter, UpdatesOn};

/// The file, under the target directory, that records each node's last build.
pub const BUILD_STATE_FILE: &str = "build_state.json";

/// One node's last successful build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// When it finished (UTC).
    pub at: NaiveDateTime,
    /// [`fingerprint`] of the node it was built from.
    pub fingerprint: String,
}

/// What decides whether a model with `build_after` is built or reused.
#[derive(Debug, Default)]
pub struct ReuseState {
    /// The invocation's time (UTC; `SLUICE_INVOCATION_TIME` pins it).
    now: NaiveDateTime,
    /// Each node's last build before this run, by unique_id.
    previous: HashMap<String, Built>,
    /// Each source's newest data (`max_loaded_at`), by unique_id.
    sources: HashMap<String, NaiveDateTime>,
    /// Nodes built in this run (at `now`): their data is new to what reads them.
    built_now: Mutex<HashSet<String>>,
}

/// A node's fingerprint: its file and its config, so a change to either
/// builds the model again.
pub fn fingerprint(node: &Node) -> String {
    let config = serde_json::to_string(&node.config.0).unwrap_or_default();
    crate::manifest::node::sha256(&format!("{}\n{config}", node.checksum))
}

fn parse_time(text: &str) -> Option<NaiveDateTime> {
    crate::freshness::parse_timestamp(text).map(|t| t.naive_utc())
}

impl ReuseState {
    /// Reads `target_dir`'s build_state.json and sources.json (either may
    /// be missing: then nothing is known, and models build).
    pub fn load(target_dir: &Path, now: NaiveDateTime) -> ReuseState {
        let read = |name: &str| -> Option<Json> {
            let text = std::fs::read_to_string(target_dir.join(name)).ok()?;
            serde_json::from_str(&text).ok()
        };
        let previous = read(BUILD_STATE_FILE)
            .and_then(|doc| {
                let nodes = doc.get("nodes")?.as_object()?.clone();
                Some(
                    nodes
                        .into_iter()
                        .filter_map(|(uid, v)| {
                            Some((
                                uid,
                                Built {
                                    at: parse_time(v.get("built_at")?.as_str()?)?,
                                    fingerprint: v.get("fingerprint")?.as_str()?.to_owned(),
                                },
                            ))
                        })
                        .collect(),
                )
            })
            .unwrap_or_default();
        let sources = read("sources.json")
            .and_then(|doc| {
                Some(
                    doc.get("results")?
                        .as_array()?
                        .iter()
                        .filter_map(|r| {
                            Some((
                                r.get("unique_id")?.as_str()?.to_owned(),
                                parse_time(r.get("max_loaded_at")?.as_str()?)?,
                            ))
                        })
                        .collect(),
                )
            })
            .unwrap_or_default();
        ReuseState {
            now,
            previous,
            sources,
            built_now: Mutex::default(),
        }
    }

    /// Notes that node `unique_id` was built in this run, now.
    pub fn record(&self, unique_id: &str) {
        if let Ok(mut built) = self.built_now.lock() {
            built.insert(unique_id.to_owned());
        }
    }

    /// When the data of node `unique_id` last changed, as far as is known:
    /// built in this run, its last recorded build, a source's
    /// `max_loaded_at`; an ephemeral model's newest input.
    fn data_time(&self, manifest: &Manifest, unique_id: &str) -> Option<NaiveDateTime> {
        if self.built_now.lock().ok()?.contains(unique_id) {
            return Some(self.now);
        }
        let node = manifest.get(unique_id)?;
        match node.resource_type {
            ResourceType::Source => self.sources.get(unique_id).copied(),
            ResourceType::Model if node.config.is_ephemeral() => node
                .depends_on
                .iter()
                .map(|p| self.data_time(manifest, p))
                .collect::<Option<Vec<_>>>()
                .and_then(|ts| ts.into_iter().max()),
            _ => self.previous.get(unique_id).map(|b| b.at),
        }
    }

    /// Why model `node` (with `build_after`) is reused, or `None` to build
    /// it. `exists`: whether its relation is in the warehouse.
    pub fn reuse_reason(
        &self,
        manifest: &Manifest,
        node: &Node,
        build_after: &BuildAfter,
        exists: bool,
        full_refresh: bool,
    ) -> Option<String> {
        let last = self.previous.get(&node.unique_id)?;
        if !exists || full_refresh || last.fingerprint != fingerprint(node) {
            return None;
        }
        let inputs: Vec<&String> = node.depends_on.iter().collect();
        let newer = |p: &String| self.data_time(manifest, p).is_none_or(|t| t > last.at);
        // A model that reads nothing has only the clock to go by.
        let new_data = inputs.is_empty()
            || match build_after.updates_on {
                UpdatesOn::Any => inputs.iter().any(|p| newer(p)),
                UpdatesOn::All => inputs.iter().all(|p| newer(p)),
            };
        let due = last.at + build_after.interval;
        if !new_data {
            return Some(format!(
                "no new data in {} input since its build at {}",
                if build_after.updates_on == UpdatesOn::All {
                    "every"
                } else {
                    "any"
                },
                last.at.format("%Y-%m-%d %H:%M:%S")
            ));
        }
        (self.now < due).then(|| {
            format!(
                "built at {}; build_after allows the next build at {}",
                last.at.format("%Y-%m-%d %H:%M:%S"),
                due.format("%Y-%m-%d %H:%M:%S")
            )
        })
    }
}

/// Writes `target_dir`'s build_state.json: the previous records of
/// `state`, with each model, seed and snapshot that `results` built
/// successfully now recorded at its end time and current fingerprint.
///
/// Errors: [`crate::ErrorKind::Io`] when the file cannot be written.
pub fn write_build_state(
    target_dir: &Path,
    state: &ReuseState,
    manifest: &Manifest,
    results: &[NodeResult],
) -> Result<()> {
    let entry = |at: NaiveDateTime, fingerprint: &str| json!({"built_at": at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(), "fingerprint": fingerprint});
    let mut nodes: serde_json::Map<String, Json> = state
        .previous
        .iter()
        .map(|(uid, b)| (uid.clone(), entry(b.at, &b.fingerprint)))
        .collect();
    for r in results {
        let node = &manifest.nodes[r.index];
        let builds = matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        );
        // Built in this run: at the invocation's time, as `record` noted.
        if builds && r.status == Status::Success {
            nodes.insert(node.unique_id.clone(), entry(state.now, &fingerprint(node)));
        }
    }
    let doc = json!({
        "metadata": {"generator": "sluice", "version": env!("CARGO_PKG_VERSION")},
        "nodes": nodes,
    });
    let path = target_dir.join(BUILD_STATE_FILE);
    std::fs::create_dir_all(target_dir).map_err(|e| Error::io("create", target_dir, e))?;
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    )
    .map_err(|e| Error::io("write", &path, e))
}
