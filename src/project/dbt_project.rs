//! `dbt_project.yml`: the project's name, paths, vars and config trees.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::Result;
use crate::project::yaml;

/// The parsed `dbt_project.yml`, with dbt's defaults for missing paths.
///
/// Field names follow dbt's file format (`model-paths`, `target-path`, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DbtProject {
    /// Project (package) name; the first element of every node's fqn.
    pub name: String,
    /// Profile name to look up in profiles.yml (defaults to `name`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Folders with models (default `["models"]`).
    #[serde(default = "default_models", alias = "source-paths")]
    pub model_paths: Vec<String>,
    /// Folders with seed CSVs (default `["seeds"]`).
    #[serde(default = "default_seeds", alias = "data-paths")]
    pub seed_paths: Vec<String>,
    /// Folders with snapshots (default `["snapshots"]`).
    #[serde(default = "default_snapshots")]
    pub snapshot_paths: Vec<String>,
    /// Folders with macros (default `["macros"]`).
    #[serde(default = "default_macros")]
    pub macro_paths: Vec<String>,
    /// Folders with singular tests (default `["tests"]`).
    #[serde(default = "default_tests")]
    pub test_paths: Vec<String>,
    /// Folders with analyses (default `["analyses"]`).
    #[serde(default = "default_analyses")]
    pub analysis_paths: Vec<String>,
    /// Where compiled SQL and artifacts go (default `target`).
    #[serde(default = "default_target")]
    pub target_path: String,
    /// What `sluice clean` removes (default `[target-path]`).
    #[serde(default)]
    pub clean_targets: Option<Vec<String>>,
    /// Where `sluice deps` installs packages and where installed packages
    /// are read from (default `dbt_packages`), as dbt's `packages-install-path`.
    #[serde(default = "default_packages_install_path")]
    pub packages_install_path: String,
    /// `require-dbt-version`: a version range or a list of them. Read, and
    /// warned about (not refused) when it excludes dbt 1.x, since sluice
    /// follows dbt 1.x behaviour.
    #[serde(default)]
    pub require_dbt_version: Option<serde_yaml::Value>,
    /// `dispatch:` entries, `[{macro_namespace, search_order}]`, as dbt's
    /// `adapter.dispatch` reads them.
    #[serde(default)]
    pub dispatch: Vec<DispatchConfig>,
    /// Project vars: global keys, or keys scoped under a package name.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_yaml::Value>,
    /// The `models:` config tree.
    #[serde(default)]
    pub models: Option<serde_yaml::Value>,
    /// The `seeds:` config tree.
    #[serde(default)]
    pub seeds: Option<serde_yaml::Value>,
    /// The `data_tests:` config tree (`tests:` is the pre-1.8 spelling).
    #[serde(default, rename = "data_tests", alias = "tests")]
    pub data_tests: Option<serde_yaml::Value>,
    /// The `snapshots:` config tree.
    #[serde(default)]
    pub snapshots: Option<serde_yaml::Value>,
    /// SQL run before `run`, `build`, `seed` and `test` (a string or a list).
    #[serde(default)]
    pub on_run_start: Option<serde_yaml::Value>,
    /// SQL run after them, whatever the outcome of the nodes.
    #[serde(default)]
    pub on_run_end: Option<serde_yaml::Value>,
}

/// One `dispatch:` entry of dbt_project.yml: the packages searched, in
/// order, for the implementations of macros dispatched in `macro_namespace`.
#[derive(Debug, Clone, Deserialize)]
pub struct DispatchConfig {
    /// The namespace a macro is dispatched in (`adapter.dispatch(name, macro_namespace)`).
    pub macro_namespace: String,
    /// Package names to search, first match wins.
    pub search_order: Vec<String>,
}

fn default_packages_install_path() -> String {
    "dbt_packages".into()
}
fn default_models() -> Vec<String> {
    vec!["models".into()]
}
fn default_seeds() -> Vec<String> {
    vec!["seeds".into()]
}
fn default_snapshots() -> Vec<String> {
    vec!["snapshots".into()]
}
fn default_macros() -> Vec<String> {
    vec!["macros".into()]
}
fn default_tests() -> Vec<String> {
    vec!["tests".into()]
}
fn default_analyses() -> Vec<String> {
    vec!["analyses".into()]
}
fn default_target() -> String {
    "target".into()
}

impl DbtProject {
    /// Parses `dbt_project.yml` text. `path` is used in error locations.
    ///
    /// Errors: [`crate::ErrorKind::Yaml`] for malformed YAML or a missing `name`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        yaml::parse(path, text)
    }

    /// The profile to use: `profile:` or, as dbt, the project name.
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or(&self.name)
    }

    /// The statements of `on-run-start` (`end` false) or `on-run-end` (`end` true).
    pub fn run_hooks(&self, end: bool) -> Vec<String> {
        let value = if end {
            &self.on_run_end
        } else {
            &self.on_run_start
        };
        match value {
            Some(serde_yaml::Value::String(s)) => vec![s.clone()],
            Some(serde_yaml::Value::Sequence(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The project's vars for its own package: global keys, then keys scoped
    /// under the project name (scoped wins), as dbt resolves `var()`.
    pub fn own_vars(&self) -> BTreeMap<String, serde_yaml::Value> {
        let mut vars = BTreeMap::new();
        let mut scoped = BTreeMap::new();
        for (key, value) in &self.vars {
            if key == &self.name {
                if let Some(map) = value.as_mapping() {
                    for (k, v) in map {
                        if let Some(k) = k.as_str() {
                            scoped.insert(k.to_owned(), v.clone());
                        }
                    }
                    continue;
                }
            }
            vars.insert(key.clone(), value.clone());
        }
        vars.extend(scoped);
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_dbt() {
        let p = DbtProject::parse(Path::new("dbt_project.yml"), "name: shop\n").unwrap();
        assert_eq!(p.model_paths, vec!["models"]);
        assert_eq!(p.target_path, "target");
        assert_eq!(p.profile_name(), "shop");
    }

    #[test]
    fn scoped_vars_override_global() {
        let p = DbtProject::parse(
            Path::new("d.yml"),
            "name: shop\nvars:\n  a: 1\n  shop:\n    a: 2\n    b: 3\n",
        )
        .unwrap();
        let v = p.own_vars();
        assert_eq!(v["a"], serde_yaml::Value::from(2));
        assert_eq!(v["b"], serde_yaml::Value::from(3));
    }
}
