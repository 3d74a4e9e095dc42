//! A previous run's artifacts, for `--state`: the `state:` selector
//! (`state:modified`, `state:new`) compares nodes with the previous
//! manifest.json, and `result:<status>` reads the previous run_results.json,
//! as dbt's state-based selection.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;

/// What a previous run left in its target directory.
#[derive(Debug, Default, Clone)]
pub struct PreviousState {
    /// unique_id -> (checksum, config) from manifest.json.
    nodes: HashMap<String, (String, Json)>,
    /// unique_id -> status from run_results.json.
    results: HashMap<String, String>,
}

impl PreviousState {
    /// Reads `dir/manifest.json` and `dir/run_results.json` (either may be
    /// missing, not both). A path to a manifest.json file is accepted too.
    ///
    /// Errors: [`ErrorKind::Usage`] when neither artifact exists or one is not valid JSON.
    pub fn load(path: &Path) -> Result<PreviousState> {
        let dir = if path.is_file() {
            path.parent().unwrap_or(Path::new("."))
        } else {
            path
        };
        let read = |name: &str| -> Result<Option<Json>> {
            let file = dir.join(name);
            match std::fs::read_to_string(&file) {
                Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("`{}` is not valid JSON: {e}", file.display()),
                    )
                }),
                Err(_) => Ok(None),
            }
        };
        let manifest = read("manifest.json")?;
        let results = read("run_results.json")?;
        if manifest.is_none() && results.is_none() {
            return Err(Error::new(ErrorKind::Usage, format!("no manifest.json or run_results.json in `{}`", dir.display()))
                .with_hint("pass --state the target directory of an earlier run (copy it aside before running again)"));
        }
        let mut state = PreviousState::default();
        if let Some(m) = manifest {
            for section in ["nodes", "sources"] {
                if let Some(nodes) = m[section].as_object() {
                    for (uid, n) in nodes {
                        let checksum = n["checksum"]["checksum"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        state
                            .nodes
                            .insert(uid.clone(), (checksum, n["config"].clone()));
                    }
                }
            }
        }
        if let Some(r) = results {
            for result in r["results"].as_array().into_iter().flatten() {
                if let (Some(uid), Some(status)) =
                    (result["unique_id"].as_str(), result["status"].as_str())
                {
                    state.results.insert(uid.to_owned(), status.to_owned());
                }
            }
        }
        Ok(state)
    }

    /// dbt's `state:` methods: `new` (absent before), `modified` (new, or its
    /// file checksum or config changed), `unmodified`, `old`.
    pub fn matches_state(&self, value: &str, node: &Node) -> bool {
        let prev = self.nodes.get(&node.unique_id);
        let modified = || match prev {
            None => true,
            Some((checksum, config)) => {
                checksum != &node.checksum
                    || serde_json::to_value(&node.config.0).ok().as_ref() != Some(config)
            }
        };
        match value {
            "new" => prev.is_none(),
            "old" => prev.is_some(),
            "modified" => modified(),
            "unmodified" => !modified(),
            _ => false,
        }
    }

    /// dbt's `result:<status>`: the node's status in the previous run_results.json.
    pub fn matches_result(&self, value: &str, node: &Node) -> bool {
        self.results
            .get(&node.unique_id)
            .is_some_and(|s| s == value)
    }

    /// unique_ids whose previous result is one of `statuses`.
    pub fn with_results(&self, statuses: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = self
            .results
            .iter()
            .filter(|(_, s)| statuses.contains(&s.as_str()))
            .map(|(u, _)| u.clone())
            .collect();
        out.sort();
        out
    }
}
