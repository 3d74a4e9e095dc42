//! Reading a project from disk: dbt_project.yml, profiles.yml, and every
//! model, seed, macro, test, analysis and schema YAML file under the paths
//! dbt_project.yml names. Nothing here renders Jinja or touches the
//! warehouse; the result, a [`Project`], is plain data for the parser.

pub mod config;
pub mod dbt_project;
pub mod installed;
pub mod jinja;
mod output_fields;
pub mod packages;
pub mod postgres_profile;
pub mod profile;
pub mod schema_yaml;
pub mod semver;
pub mod spark_profile;
pub mod versions;
pub mod yaml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};
pub use dbt_project::DbtProject;
pub use jinja::{ConfigJinja, StrRenderer};
pub use postgres_profile::PostgresProfile;
pub use profile::{ProfileOptions, Target};
pub use schema_yaml::SchemaFile;

/// A text file of the project, with its path relative to the project root.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the project directory (`models/staging/stg_orders.sql`).
    pub path: PathBuf,
    /// Whole file contents.
    pub text: String,
}

/// Options for [`Project::load`], from the command line.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--project-dir` (defaults to the current directory).
    pub project_dir: PathBuf,
    /// profiles.yml lookup options (`--profiles-dir`, `--target`).
    pub profile: ProfileOptions,
    /// `--vars`: a YAML mapping that overrides project vars.
    pub vars: Option<String>,
}

/// A `local:` package of packages.yml: a dbt project folder whose models,
/// seeds and macros join the project under the package's own name.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package's project name (its dbt_project.yml `name`).
    pub name: String,
    /// Its folder, relative to the root project (as packages.yml gives it).
    pub dir: PathBuf,
    /// Its dbt_project.yml.
    pub config: DbtProject,
    /// Model files (paths relative to the root project).
    pub models: Vec<SourceFile>,
    /// Seed files (paths relative to the root project).
    pub seeds: Vec<PathBuf>,
    /// Macro files, including tests/generic (paths relative to the root project).
    pub macros: Vec<SourceFile>,
}

/// A project read from disk.
#[derive(Debug)]
pub struct Project {
    /// The project directory.
    pub root: PathBuf,
    /// Parsed dbt_project.yml.
    pub config: DbtProject,
    /// Resolved warehouse target.
    pub target: Target,
    /// Vars visible to `var()`: project vars overlaid with `--vars`.
    pub vars: BTreeMap<String, Json>,
    /// Model `.sql` files.
    pub models: Vec<SourceFile>,
    /// Seed `.csv` files (relative paths; DuckDB reads them itself).
    pub seeds: Vec<PathBuf>,
    /// Macro `.sql` files.
    pub macros: Vec<SourceFile>,
    /// Singular test `.sql` files.
    pub singular_tests: Vec<SourceFile>,
    /// Analysis `.sql` files.
    pub analyses: Vec<SourceFile>,
    /// Snapshot `.sql` files (`{% snapshot %}` blocks) under snapshot-paths.
    pub snapshots: Vec<SourceFile>,
    /// Schema YAML files, parsed.
    pub schema_files: Vec<(PathBuf, SchemaFile)>,
    /// Markdown files that may hold `{% docs %}` blocks.
    pub docs_files: Vec<SourceFile>,
    /// Local packages from packages.yml, in file order. Their schema YAML
    /// and docs files are in `schema_files` and `docs_files`.
    pub packages: Vec<Package>,
    /// What loading noticed but does not refuse (a package's
    /// `require-dbt-version` that excludes dbt 1.x), as diagnostics to
    /// print with [`crate::error::Severity::Warning`].
    pub warnings: Vec<Error>,
}

impl Project {
    /// Reads the project at `options.project_dir`.
    ///
    /// Errors: [`ErrorKind::MissingFile`] without dbt_project.yml,
    /// [`ErrorKind::Yaml`] for malformed YAML (located), [`ErrorKind::Profile`]
    /// for profile problems, [`ErrorKind::Usage`] for bad `--vars`.
    pub fn load(options: &LoadOptions, jinja: &dyn ConfigJinja) -> Result<Project> {
        let root = if options.project_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            options.project_dir.clone()
        };
        let project_file = root.join("dbt_project.yml");
        let text = std::fs::read_to_string(&project_file).map_err(|e| {
            Error::io("read", &project_file, e)
                .with_hint("run sluice inside a dbt project, or pass `--project-dir <dir>`")
        })?;
        let mut config = DbtProject::parse(Path::new("dbt_project.yml"), &text)?;
        config.read_vars_yml(&root, &text)?;

        let mut vars: BTreeMap<String, Json> = config
            .own_vars()
            .iter()
            .map(|(k, v)| (k.clone(), config::yaml_to_json(v)))
            .collect();
        let cli_vars = match &options.vars {
            Some(text) => parse_cli_vars(text)?,
            None => BTreeMap::new(),
        };
        vars.extend(cli_vars.clone());

        let render = |s: &str| jinja.config_string(s, &vars);
        let target = profile::resolve(
            &root,
            &config.name,
            config.profile_name(),
            &options.profile,
            &render,
        )?;
        // dbt renders the config trees of every dbt_project.yml once the
        // target is known (its `TargetContext`), with `--vars` only, and
        // (dbt 1.12) the vars of vars.yml, which it reads first.
        let mut early_vars = cli_vars.clone();
        if root.join("vars.yml").is_file() {
            early_vars = vars.clone();
        }
        let render_value = |s: &str| jinja.project_value(s, &early_vars, &target);
        config.render_config_trees(Path::new("dbt_project.yml"), &text, &render_value)?;

        let files = read_files(&root, Path::new(""), &config)?;
        let mut schema_files = files.schema_files;
        let mut schema_jinja = files.schema_jinja;
        let mut docs_files = files.docs_files;
        let mut packages: Vec<Package> = Vec::new();
        let mut warnings = Vec::new();
        // packages.yml and the lock are rendered with `env_var` only, as dbt's.
        let no_vars = BTreeMap::new();
        let render_packages = |s: &str| jinja.config_string(s, &no_vars);
        for dir in installed::package_dirs(&root, &config, &render_packages)? {
            let file = dir.join("dbt_project.yml");
            let text = std::fs::read_to_string(root.join(&file)).map_err(|e| {
                Error::io("read", &file, e).with_hint(
                    "a package is a folder with its own dbt_project.yml; check the path in packages.yml, or run `sluice deps`",
                )
            })?;
            let mut pkg_config = DbtProject::parse(&file, &text)?;
            if pkg_config.name == config.name || packages.iter().any(|p| p.name == pkg_config.name)
            {
                // The same package reached twice (a `local:` entry that `deps` also linked).
                continue;
            }
            pkg_config.render_config_trees(&file, &text, &render_value)?;
            if let Some(w) = installed::dbt_version_warning(&pkg_config) {
                warnings.push(w);
            }
            // The root project's vars win over a package's.
            for (k, v) in pkg_config.own_vars() {
                vars.entry(k.clone())
                    .or_insert_with(|| config::yaml_to_json(&v));
            }
            let pkg_files = read_files(&root, &dir, &pkg_config)?;
            schema_files.extend(pkg_files.schema_files);
            schema_jinja.extend(pkg_files.schema_jinja);
            docs_files.extend(pkg_files.docs_files);
            packages.push(Package {
                name: pkg_config.name.clone(),
                dir,
                config: pkg_config,
                models: pkg_files.models,
                seeds: pkg_files.seeds,
                macros: pkg_files.macros,
            });
        }
        let install_path = Path::new(&config.packages_install_path);
        let installed_names: HashSet<&str> = packages
            .iter()
            .filter(|p| p.dir.starts_with(install_path))
            .flat_map(|p| {
                let folder = p.dir.file_name().and_then(|f| f.to_str());
                [Some(p.name.as_str()), folder]
            })
            .flatten()
            .collect();
        installed::check_locked(&root, &config, &installed_names, &render_packages)?;
        let render_schema = |s: &str| jinja.project_value(s, &vars, &target);
        render_schema_files(&mut schema_files, &schema_jinja, &render_schema)?;
        if let Some(w) = installed::dbt_version_warning(&config) {
            warnings.push(w);
        }

        Ok(Project {
            models: files.models,
            macros: files.macros,
            singular_tests: files.singular_tests,
            analyses: files.analyses,
            snapshots: files.snapshots,
            seeds: files.seeds,
            schema_files,
            docs_files,
            root,
            config,
            target,
            vars,
            packages,
            warnings,
        })
    }

    /// The project name (package name of every node).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The absolute-or-relative path of the target dir (`<root>/target`).
    pub fn target_dir(&self) -> PathBuf {
        self.root.join(&self.config.target_path)
    }
}

/// Renders the Jinja in schema YAML values, as dbt's `SchemaYamlRenderer`
/// does when it reads a schema file (with `target`, `var()` and
/// `env_var()`): a seed's `column_types`, a column's `data_type`, a
/// source's `schema:`. Descriptions, data tests and hooks stay as written
/// (see [`schema_yaml::unrendered_keypath`]). `jinja` holds the path and
/// text of each file that has Jinja; its entry in `files` is replaced when
/// a value changed.
///
/// Errors: a value that fails to render, located in its file;
/// [`ErrorKind::Yaml`] when a rendered value has the wrong shape.
fn render_schema_files(
    files: &mut [(PathBuf, SchemaFile)],
    jinja: &[(PathBuf, String)],
    render: &dyn Fn(&str) -> Result<serde_yaml::Value>,
) -> Result<()> {
    for (path, text) in jinja {
        let Ok(mut value) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
            continue;
        };
        let before = value.clone();
        yaml::ValueRenderer {
            path,
            text,
            render,
            skip: &schema_yaml::unrendered_keypath,
            hint: "dbt renders schema YAML values with `target`, `var()` and `env_var()`; check the expression",
        }
        .render(&mut value, &mut Vec::new())?;
        if value == before {
            continue;
        }
        let mut file = serde_yaml::from_value::<SchemaFile>(value).map_err(|e| {
            Error::new(
                ErrorKind::Yaml,
                format!("`{}` after rendering its Jinja: {e}", path.display()),
            )
            .with_hint("a rendered value must have the shape the key expects")
        })?;
        versions::expand_versions(path, text, &mut file)?;
        if let Some(slot) = files.iter_mut().find(|(p, _)| p == path) {
            slot.1 = file;
        }
    }
    Ok(())
}

/// The files of one project folder.
struct Files {
    models: Vec<SourceFile>,
    macros: Vec<SourceFile>,
    singular_tests: Vec<SourceFile>,
    analyses: Vec<SourceFile>,
    snapshots: Vec<SourceFile>,
    seeds: Vec<PathBuf>,
    schema_files: Vec<(PathBuf, SchemaFile)>,
    /// Path and text of each schema file with Jinja in it, rendered once
    /// the project's vars are known (see [`render_schema_files`]).
    schema_jinja: Vec<(PathBuf, String)>,
    docs_files: Vec<SourceFile>,
}

/// Reads the files of the project in `root/dir` under the paths `config`
/// names; every path returned is relative to `root`.
///
/// Errors: I/O errors, [`ErrorKind::Yaml`] for malformed schema YAML (located).
fn read_files(root: &Path, dir: &Path, config: &DbtProject) -> Result<Files> {
    let base = root.join(dir);
    // Each resource folder is walked once (models/ holds the SQL, the YAML
    // and the docs), the folders in parallel.
    let mut all_dirs: Vec<&String> = [
        &config.model_paths,
        &config.macro_paths,
        &config.test_paths,
        &config.analysis_paths,
        &config.snapshot_paths,
        &config.seed_paths,
    ]
    .into_iter()
    .flatten()
    .collect();
    all_dirs.sort();
    all_dirs.dedup();
    let listings: HashMap<&String, Vec<PathBuf>> = all_dirs
        .par_iter()
        .map(|d| (*d, files_under(&base, d)))
        .collect();
    let walk = |dirs: &[String], exts: &[&str]| -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = dirs
            .iter()
            .filter_map(|d| listings.get(d))
            .flatten()
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e))
            })
            .map(|p| dir.join(p))
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let model_paths = walk(&config.model_paths, &["sql"]);
    let mut macro_paths = walk(&config.macro_paths, &["sql"]);
    let test_paths = walk(&config.test_paths, &["sql"]);
    let analysis_paths = walk(&config.analysis_paths, &["sql"]);
    let snapshot_paths = walk(&config.snapshot_paths, &["sql"]);
    let seeds = walk(&config.seed_paths, &["csv"]);
    let mut yaml_dirs = config.model_paths.clone();
    yaml_dirs.extend(config.seed_paths.iter().cloned());
    yaml_dirs.extend(config.snapshot_paths.iter().cloned());
    yaml_dirs.extend(config.analysis_paths.iter().cloned());
    yaml_dirs.extend(config.macro_paths.iter().cloned());
    yaml_dirs.sort();
    yaml_dirs.dedup();
    let yaml_paths = walk(&yaml_dirs, &["yml", "yaml"]);
    // dbt's default docs-paths: every resource path.
    let docs_paths = walk(&yaml_dirs, &["md"]);
    let schema_files = yaml_paths
        .par_iter()
        .map(|p| {
            let text = read(root, p)?;
            let mut file = yaml::parse::<SchemaFile>(p, &text)?;
            versions::expand_versions(p, &text, &mut file)?;
            let jinja = (text.contains("{{") || text.contains("{%")).then_some(text);
            Ok(((p.clone(), file), jinja.map(|t| (p.clone(), t))))
        })
        .collect::<Result<Vec<_>>>()?;
    let (schema_files, schema_jinja): (Vec<_>, Vec<_>) = schema_files.into_iter().unzip();
    // Singular tests live under test-paths; `tests/generic/` holds generic
    // test macros and `tests/fixtures/` unit-test fixtures (never tests), as dbt.
    let (generic_tests, singular): (Vec<_>, Vec<_>) = test_paths
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "fixtures"))
        .partition(|p| p.components().any(|c| c.as_os_str() == "generic"));
    macro_paths.extend(generic_tests);
    Ok(Files {
        models: read_all(root, &model_paths)?,
        macros: read_all(root, &macro_paths)?,
        singular_tests: read_all(root, &singular)?,
        analyses: read_all(root, &analysis_paths)?,
        snapshots: read_all(root, &snapshot_paths)?,
        seeds,
        schema_files,
        schema_jinja: schema_jinja.into_iter().flatten().collect(),
        docs_files: read_all(root, &docs_paths)?,
    })
}

/// Parses `--vars` (a YAML mapping, as dbt: `--vars '{k: v}'`).
///
/// Errors: [`ErrorKind::Usage`] when it is not valid YAML or not a mapping.
pub fn parse_cli_vars(text: &str) -> Result<BTreeMap<String, Json>> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        Error::new(ErrorKind::Usage, format!("`--vars` is not valid YAML: {e}"))
            .with_hint("pass a mapping, e.g. --vars '{start_date: 2024-01-01}'")
    })?;
    match config::yaml_to_json(&value) {
        Json::Object(map) => Ok(map.into_iter().collect()),
        Json::Null => Ok(BTreeMap::new()),
        _ => Err(
            Error::new(ErrorKind::Usage, "`--vars` must be a YAML mapping")
                .with_hint("pass a mapping, e.g. --vars '{start_date: 2024-01-01}'"),
        ),
    }
}

/// Every file under `root/dir`, relative to `root`.
fn files_under(root: &Path, dir: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root.join(dir))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.path().strip_prefix(root).ok().map(Path::to_path_buf))
        .collect()
}

/// The text of the project file `rel`, without a leading UTF-8 byte order
/// mark (editors on Windows write one; it is not SQL, YAML or Jinja).
fn read(root: &Path, rel: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join(rel)).map_err(|e| Error::io("read", rel, e))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

fn read_all(root: &Path, paths: &[PathBuf]) -> Result<Vec<SourceFile>> {
    paths
        .par_iter()
        .map(|p| {
            Ok(SourceFile {
                path: p.clone(),
                text: read(root, p)?,
            })
        })
        .collect()
}
