//! A previous run's artifacts, for `--state`: the `state:` selector
//! (`state:modified`, `state:new`) compares nodes with the previous
//! manifest.json, and `result:<status>` reads the previous run_results.json,
//! as dbt's state-based selection.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::render::MacroDef;

/// What a previous run left in its target directory.
#[derive(Debug, Default, Clone)]
pub struct PreviousState {
    /// unique_id -> (checksum, config) from manifest.json.
    nodes: HashMap<String, (String, Json)>,
    /// unique_id -> status from run_results.json.
    results: HashMap<String, String>,
    /// unique_id -> `batch_results` from run_results.json, for the
    /// microbatch models that were partial successes.
    batch_results: HashMap<String, Json>,
    /// Macro unique_id -> macro_sql from manifest.json.
    macros: HashMap<String, String>,
    /// unique_id -> max_loaded_at from the state's sources.json.
    freshness: HashMap<String, String>,
    /// unique_id -> max_loaded_at from the current target's sources.json,
    /// when it has one ([`PreviousState::with_current_sources`]).
    current_freshness: Option<HashMap<String, String>>,
    /// unique_id -> `(database, schema, identifier)` of the relation each
    /// model, seed and snapshot of manifest.json was built as, for `--defer`.
    relations: HashMap<String, (String, String, String)>,
    /// Current macros whose text changed since the previous manifest, or
    /// that call (directly or not) one that did; see [`PreviousState::with_current_macros`].
    changed_macros: HashSet<String>,
}

/// unique_id -> max_loaded_at of each checked source in sources.json.
fn max_loaded_at(doc: &Json) -> HashMap<String, String> {
    doc["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["unique_id"].as_str()?.to_owned(),
                r["max_loaded_at"].as_str()?.to_owned(),
            ))
        })
        .collect()
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
        let sources = read("sources.json")?;
        if manifest.is_none() && results.is_none() && sources.is_none() {
            return Err(Error::new(ErrorKind::Usage, format!("no manifest.json or run_results.json in `{}`", dir.display()))
                .with_hint("pass --state the target directory of an earlier run (copy it aside before running again)"));
        }
        let mut state = PreviousState::default();
        if let Some(m) = &manifest {
            for section in ["nodes", "sources"] {
                if let Some(nodes) = m[section].as_object() {
                    for (uid, n) in nodes {
                        let built = matches!(
                            n["resource_type"].as_str(),
                            Some("model" | "seed" | "snapshot")
                        ) && !n["relation_name"].is_null()
                            && n["config"]["materialized"] != "ephemeral";
                        if built {
                            let text = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
                            let identifier = n["alias"]
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| text("name"));
                            state.relations.insert(
                                uid.clone(),
                                (text("database"), text("schema"), identifier),
                            );
                        }
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
        if let Some(m) = &manifest {
            if let Some(macros) = m["macros"].as_object() {
                for (uid, def) in macros {
                    let sql = def["macro_sql"].as_str().unwrap_or_default().to_owned();
                    state.macros.insert(uid.clone(), sql);
                }
            }
        }
        if let Some(doc) = &sources {
            state.freshness = max_loaded_at(doc);
        }
        if let Some(r) = results {
            for result in r["results"].as_array().into_iter().flatten() {
                if let (Some(uid), Some(status)) =
                    (result["unique_id"].as_str(), result["status"].as_str())
                {
                    state.results.insert(uid.to_owned(), status.to_owned());
                    if status == "partial success" {
                        state
                            .batch_results
                            .insert(uid.to_owned(), result["batch_results"].clone());
                    }
                }
            }
        }
        Ok(state)
    }

    /// Reads the current target's sources.json (`target_dir`), which
    /// `source_status:` compares with the state's, when there is one.
    pub fn with_current_sources(mut self, target_dir: &Path) -> PreviousState {
        self.current_freshness = std::fs::read_to_string(target_dir.join("sources.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<Json>(&text).ok())
            .map(|doc| max_loaded_at(&doc));
        self
    }

    /// dbt's `source_status:fresher`: source `node` has a newer
    /// `max_loaded_at` in the current sources.json than in the state's (or
    /// none in the state's). Timestamps compare as dbt writes them (ISO
    /// 8601 in UTC, which orders as text).
    ///
    /// Errors: [`ErrorKind::Selector`] for another value than `fresher`,
    /// or when either sources.json is missing.
    pub fn matches_source_status(&self, value: &str, node: &Node) -> Result<bool> {
        if value != "fresher" {
            return Err(Error::new(ErrorKind::Selector, format!("source_status `{value}` is not one dbt knows"))
                .with_hint("use `source_status:fresher` (sources loaded since the --state run's `source freshness`)"));
        }
        let Some(current) = &self.current_freshness else {
            return Err(Error::new(ErrorKind::Selector, "source_status:fresher needs the current target's sources.json")
                .with_hint("run `sluice source freshness` first, then select with --state <the earlier run's target>"));
        };
        if self.freshness.is_empty() {
            return Err(Error::new(
                ErrorKind::Selector,
                "source_status:fresher needs sources.json in the --state directory",
            )
            .with_hint(
                "keep the target/ of an earlier `sluice source freshness` and pass it as --state",
            ));
        }
        Ok(
            match (
                current.get(&node.unique_id),
                self.freshness.get(&node.unique_id),
            ) {
                (Some(now), Some(before)) => now > before,
                (Some(_), None) => true,
                _ => false,
            },
        )
    }

    /// The `(database, schema, identifier)` node `unique_id` was built as
    /// in the previous manifest (models, seeds and snapshots that are not
    /// ephemeral), for dbt's `--defer`.
    pub fn relation(&self, unique_id: &str) -> Option<(&str, &str, &str)> {
        self.relations
            .get(unique_id)
            .map(|(d, s, i)| (d.as_str(), s.as_str(), i.as_str()))
    }

    /// Compares the previous manifest's macros with `current`: a macro is
    /// changed when its text differs or it is new, and so is every macro
    /// that calls a changed one (dbt's `modified.macros` follows macro
    /// dependencies). Without macros in the previous manifest nothing counts
    /// as changed.
    /// `root` is the project's name, for resolving unqualified calls as dbt.
    pub fn with_current_macros(mut self, current: &[MacroDef], root: &str) -> PreviousState {
        if self.macros.is_empty() {
            return self;
        }
        let mut changed: HashSet<String> = current
            .iter()
            .filter(|m| {
                self.macros.get(&m.unique_id).map(String::as_str) != Some(m.source.trim_start())
            })
            .map(|m| m.unique_id.clone())
            .collect();
        // Callers of changed macros, to a fixpoint.
        let names = crate::manifest::MacroNames::new(
            current
                .iter()
                .map(|m| (m.name.as_str(), m.unique_id.as_str())),
        );
        let calls: Vec<(String, Vec<String>)> = current
            .iter()
            .map(|m| {
                let body = m.source.trim_start();
                // The macro's own name is in its header, not a call.
                let body = body.find("%}").map_or(body, |i| &body[i..]);
                (
                    m.unique_id.clone(),
                    names.called_in(body, m.package(), root),
                )
            })
            .collect();
        loop {
            let before = changed.len();
            for (uid, callees) in &calls {
                if !changed.contains(uid) && callees.iter().any(|c| changed.contains(c)) {
                    changed.insert(uid.clone());
                }
            }
            if changed.len() == before {
                break;
            }
        }
        self.changed_macros = changed;
        self
    }

    /// dbt's `state:` methods: `new` (absent before), `modified` (new, or
    /// one of `modified.body` (file checksum), `modified.configs`,
    /// `modified.macros` (a macro it calls changed, see
    /// [`PreviousState::with_current_macros`])), `unmodified`, `old`.
    pub fn matches_state(&self, value: &str, node: &Node) -> bool {
        let prev = self.nodes.get(&node.unique_id);
        let body = || prev.is_none_or(|(checksum, _)| checksum != &node.checksum);
        let configs = || {
            prev.is_none_or(|(_, config)| {
                // Both with dbt's defaults filled in: manifest.json has them
                // (dbt's, and sluice's since it writes them), older ones did not.
                let filled = |c: &BTreeMap<String, serde_json::Value>| {
                    crate::manifest::config_defaults::with_dbt_defaults(node.resource_type, c)
                };
                let before = match config {
                    serde_json::Value::Object(map) => {
                        filled(&map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    }
                    _ => return true,
                };
                filled(&node.config.0) != before
            })
        };
        let macros = || {
            node.depends_on_macros
                .iter()
                .any(|m| self.changed_macros.contains(m))
        };
        let modified = || body() || configs() || macros();
        match value {
            "new" => prev.is_none(),
            "old" => prev.is_some(),
            "modified" => modified(),
            "modified.body" => body(),
            "modified.configs" => configs(),
            "modified.macros" => prev.is_some() && macros(),
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

    /// run_results.json's `batch_results` of each microbatch model that was
    /// a partial success, by unique_id: what `retry` runs again.
    pub fn batch_results(&self) -> &HashMap<String, Json> {
        &self.batch_results
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

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, source: &str) -> MacroDef {
        MacroDef {
            name: name.into(),
            path: "macros/m.sql".into(),
            source: source.into(),
            unique_id: format!("macro.p.{name}"),
        }
    }

    #[test]
    fn a_changed_macro_changes_the_macros_that_call_it() {
        // As dbt's modified.macros, which follows macro-to-macro dependencies.
        let outer = def("outer", "{% macro outer() %}{{ inner() }}{% endmacro %}");
        let other = def("other", "{% macro other() %}1{% endmacro %}");
        let mut state = PreviousState::default();
        for m in [&outer, &other] {
            state.macros.insert(m.unique_id.clone(), m.source.clone());
        }
        state.macros.insert(
            "macro.p.inner".into(),
            "{% macro inner() %}old{% endmacro %}".into(),
        );
        let inner = def("inner", "{% macro inner() %}new{% endmacro %}");
        let state = state.with_current_macros(&[outer, other, inner], "shop");
        let mut changed: Vec<&String> = state.changed_macros.iter().collect();
        changed.sort();
        assert_eq!(changed, ["macro.p.inner", "macro.p.outer"]);
    }
}
