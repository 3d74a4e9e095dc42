//! `dbt_project.yml`: the project's name, paths, vars and config trees.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::project::yaml::{self, ValueRenderer};

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

/// The top-level keys of dbt's project schema (dbt 1.12).
const TOP_LEVEL_KEYS: &[&str] = &[
    "name",
    "version",
    "config-version",
    "profile",
    "model-paths",
    "seed-paths",
    "test-paths",
    "analysis-paths",
    "macro-paths",
    "snapshot-paths",
    "docs-paths",
    "asset-paths",
    "function-paths",
    "target-path",
    "log-path",
    "packages-install-path",
    "clean-targets",
    "query-comment",
    "require-dbt-version",
    "quoting",
    "on-run-start",
    "on-run-end",
    "dispatch",
    "models",
    "seeds",
    "snapshots",
    "sources",
    "data_tests",
    "tests",
    "unit_tests",
    "metrics",
    "semantic-models",
    "saved-queries",
    "exposures",
    "vars",
    "restrict-access",
    "flags",
    "functions",
    "analyses",
    "data-paths",
    "source-paths",
];

/// A top-level key one or two edits from one of dbt's (`modles:`) is an
/// error at its line: dbt rejects unknown keys ("Additional properties are
/// not allowed"), and the misspelt block's configs would silently vanish.
/// A key far from every known one is left alone.
fn check_top_level_keys(path: &Path, text: &str) -> Result<()> {
    let Ok(serde_yaml::Value::Mapping(map)) = serde_yaml::from_str::<serde_yaml::Value>(text)
    else {
        return Ok(());
    };
    for key in map.keys().filter_map(serde_yaml::Value::as_str) {
        if TOP_LEVEL_KEYS.contains(&key) {
            continue;
        }
        let Some(close) = TOP_LEVEL_KEYS
            .iter()
            .filter(|k| strsim::levenshtein(k, key) <= 2)
            .min_by_key(|k| strsim::levenshtein(k, key))
        else {
            continue;
        };
        let mut err = Error::new(
            ErrorKind::Config,
            format!(
                "`{key}` in `{}` is not a key of dbt_project.yml",
                path.display()
            ),
        )
        .with_hint(format!(
            "did you mean `{close}`? (dbt rejects unknown top-level keys)"
        ));
        let at_line_start = text
            .match_indices(&format!("{key}:"))
            .find(|(i, _)| *i == 0 || text.as_bytes()[i - 1] == b'\n');
        if let Some((offset, _)) = at_line_start {
            err = err.with_location(Location::from_offset(path, text, offset));
        }
        return Err(err);
    }
    Ok(())
}

impl DbtProject {
    /// Parses `dbt_project.yml` text. `path` is used in error locations.
    ///
    /// Errors: [`crate::ErrorKind::Yaml`] for malformed YAML, a missing
    /// `name`, or a name that is not an identifier (`../x`), as dbt's schema.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let project: DbtProject = yaml::parse(path, text)?;
        // As dbt's project schema (`name` is an identifier): the name names
        // folders under target/ and relations, so `../x` must not pass.
        let valid = project
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && project
                .name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            let mut err = Error::new(
                ErrorKind::Yaml,
                format!(
                    "invalid project name `{}` in `{}`: a name has only letters, digits and underscores, and does not start with a digit",
                    project.name,
                    path.display()
                ),
            )
            .with_hint("rename the project, e.g. `name: my_project` (it names the package, its nodes' unique_ids and folders under target/)");
            let at_line_start = text
                .match_indices("name:")
                .find(|(i, _)| *i == 0 || text.as_bytes()[i - 1] == b'\n');
            if let Some((offset, _)) = at_line_start {
                err = err.with_location(Location::from_offset(path, text, offset));
            }
            return Err(err);
        }
        check_top_level_keys(path, text)?;
        Ok(project)
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

    /// Renders the Jinja in every string value of the config trees
    /// (`models:`, `seeds:`, `snapshots:`, `data_tests:`/`tests:`), as dbt's
    /// `DbtProjectYamlRenderer` does when it loads a dbt_project.yml. As dbt's
    /// `should_render_keypath`, a value under a `pre-hook`/`post-hook` key
    /// (with or without `+`, at any depth) stays as written: hooks are
    /// rendered per node at run time. `vars:`, `on-run-start`/`on-run-end`
    /// and `query-comment` are outside these trees and stay unrendered too.
    /// Mapping keys are never rendered. `render` renders one value; `path`
    /// and `text` are the file and its contents, for error locations.
    ///
    /// Errors: the first value that fails to render, located at its place
    /// in `path`, naming its key path, with a hint.
    pub fn render_config_trees(
        &mut self,
        path: &Path,
        text: &str,
        render: &dyn Fn(&str) -> Result<serde_yaml::Value>,
    ) -> Result<()> {
        for (name, tree) in [
            ("models", &mut self.models),
            ("seeds", &mut self.seeds),
            ("snapshots", &mut self.snapshots),
            ("data_tests", &mut self.data_tests),
        ] {
            if let Some(tree) = tree {
                let mut keypath = vec![name.to_owned()];
                ValueRenderer {
                    path,
                    text,
                    render,
                    skip: &|keypath: &[String]| keypath.last().is_some_and(|k| is_hook_key(k)),
                    hint: "dbt renders dbt_project.yml config values with `target`, `var()` (from `--vars` only) and `env_var()`; check the expression",
                }
                .render(tree, &mut keypath)?;
            }
        }
        Ok(())
    }

    /// Takes the vars of `vars.yml` (dbt 1.12: a `vars:` mapping in a file
    /// beside dbt_project.yml) when the project has that file. `text` is
    /// dbt_project.yml's, for locating a clash.
    ///
    /// Errors: [`ErrorKind::Yaml`] for a vars.yml that is not YAML or not a
    /// `vars:` mapping; [`ErrorKind::Config`] when dbt_project.yml sets
    /// `vars:` too (dbt takes them from one place), at its `vars:` line.
    pub fn read_vars_yml(&mut self, root: &Path, text: &str) -> Result<()> {
        let path = Path::new("vars.yml");
        let Ok(vars_text) = std::fs::read_to_string(root.join(path)) else {
            return Ok(());
        };
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct VarsFile {
            vars: BTreeMap<String, serde_yaml::Value>,
        }
        let file: VarsFile = yaml::parse(path, &vars_text)?;
        if !self.vars.is_empty() {
            let mut err = Error::new(
                ErrorKind::Config,
                "vars are set in both vars.yml and dbt_project.yml",
            )
            .with_hint("keep them in one place: move dbt_project.yml's `vars:` into vars.yml");
            let at_line_start = text
                .match_indices("vars:")
                .find(|(i, _)| *i == 0 || text.as_bytes()[i - 1] == b'\n');
            if let Some((offset, _)) = at_line_start {
                err = err.with_location(Location::from_offset(
                    Path::new("dbt_project.yml"),
                    text,
                    offset,
                ));
            }
            return Err(err);
        }
        self.vars = file.vars;
        Ok(())
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

/// Whether a config key holds hooks, which dbt renders at run time, not at
/// load (`should_render_keypath` strips `+` and spaces before comparing).
fn is_hook_key(key: &str) -> bool {
    matches!(
        key.trim_start_matches(['+', ' ']),
        "pre-hook" | "post-hook" | "pre_hook" | "post_hook"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_top_level_key_is_an_error_at_its_line() {
        let text = "name: shop\nversion: '1'\nmodles:\n  shop:\n    +materialized: table\n";
        let err = DbtProject::parse(Path::new("dbt_project.yml"), text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.location().map(|l| l.line), Some(3));
        assert!(err.hint().unwrap().contains("`models`"), "{}", err.render());
        // A key far from every known one is someone's own: left alone.
        let text = "name: shop\nmy-team-notes: x\n";
        assert!(DbtProject::parse(Path::new("dbt_project.yml"), text).is_ok());
    }

    #[test]
    fn defaults_match_dbt() {
        let p = DbtProject::parse(Path::new("dbt_project.yml"), "name: shop\n").unwrap();
        assert_eq!(p.model_paths, vec!["models"]);
        assert_eq!(p.target_path, "target");
        assert_eq!(p.profile_name(), "shop");
    }

    const CROSSDB: &str = r#"name: shop
models:
  shop:
    marts:
      +materialized: "{{ 'view' if target.name == 'nope' else 'table' }}"
      +enabled: "{{ target.type == 'duckdb' }}"
      +alias: "m_{{ var('suffix', 'x') }}"
      +post-hook: "grant select on {{ this.name }} to reporter"
seeds:
  shop:
    +column_types: {amount: "{{ 'float' if target.type not in ['duckdb'] else 'decimal(10,2)' }}"}
vars:
  v: "{{ target.name }}"
on-run-start: "select '{{ target.name }}'"
"#;

    fn render_crossdb(cli_vars: &[(&str, &str)]) -> Result<DbtProject> {
        let mut p = DbtProject::parse(Path::new("dbt_project.yml"), CROSSDB)?;
        let target = crate::project::Target::embedded(Path::new("."), "shop");
        let vars = cli_vars
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        let render = |s: &str| crate::render::render_project_value(s, &vars, &target);
        p.render_config_trees(Path::new("dbt_project.yml"), CROSSDB, &render)?;
        Ok(p)
    }

    #[test]
    fn config_trees_render_with_target_as_dbt_project_yaml_renderer() {
        let p = render_crossdb(&[("suffix", "cli")]).unwrap();
        let marts = &p.models.as_ref().unwrap()["shop"]["marts"];
        // dbt renders config values with `target` at load time.
        assert_eq!(marts["+materialized"], serde_yaml::Value::from("table"));
        // Native rendering: one `{{ expr }}` keeps its type (a bool here).
        assert_eq!(marts["+enabled"], serde_yaml::Value::from(true));
        // Text around the expression makes a string; `var()` sees `--vars`.
        assert_eq!(marts["+alias"], serde_yaml::Value::from("m_cli"));
        // should_render_keypath: hooks are rendered per node at run time.
        assert_eq!(
            marts["+post-hook"],
            serde_yaml::Value::from("grant select on {{ this.name }} to reporter")
        );
        let seeds = &p.seeds.as_ref().unwrap()["shop"]["+column_types"];
        assert_eq!(seeds["amount"], serde_yaml::Value::from("decimal(10,2)"));
        // vars and on-run-start are left for later, as dbt.
        assert_eq!(p.vars["v"], serde_yaml::Value::from("{{ target.name }}"));
        assert_eq!(p.run_hooks(false), ["select '{{ target.name }}'"]);
    }

    #[test]
    fn project_vars_are_not_visible_while_rendering_dbt_project_yml() {
        // dbt's TargetContext gives `var()` the `--vars` only; the default applies.
        let p = render_crossdb(&[]).unwrap();
        let alias = &p.models.as_ref().unwrap()["shop"]["marts"]["+alias"];
        assert_eq!(*alias, serde_yaml::Value::from("m_x"));
    }

    #[test]
    fn a_failing_config_value_is_located_in_dbt_project_yml() {
        let text = "name: shop\nmodels:\n  shop:\n    +materialized: \"{{ var('kind') }}\"\n";
        let mut p = DbtProject::parse(Path::new("dbt_project.yml"), text).unwrap();
        let target = crate::project::Target::embedded(Path::new("."), "shop");
        let vars = BTreeMap::new();
        let render = |s: &str| crate::render::render_project_value(s, &vars, &target);
        let err = p
            .render_config_trees(Path::new("dbt_project.yml"), text, &render)
            .unwrap_err();
        assert!(
            err.message().contains("`models.shop.+materialized`"),
            "{}",
            err.render()
        );
        assert!(
            err.message().contains("required var `kind`"),
            "{}",
            err.render()
        );
        let loc = err.location().unwrap();
        assert_eq!((loc.line, loc.col), (4, 21), "{}", err.render());
        assert!(err.hint().is_some());
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
