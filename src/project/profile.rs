//! `profiles.yml`: where the warehouse is.
//!
//! Looked up as dbt does: `--profiles-dir`, then `DBT_PROFILES_DIR`, then the
//! project directory, then `~/.dbt/`. String values are rendered with Jinja
//! (`{{ env_var('X', 'default') }}`), as dbt renders profiles. sluice's
//! extension: when no profiles.yml defines the project's profile (and none
//! was named explicitly), it uses an embedded DuckDB file in the project
//! directory, `<project>.duckdb` with schema `main`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::project::yaml;

/// The resolved connection target: one `outputs:` entry of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Target name (`dev`, ...), exposed as `target.name`.
    pub name: String,
    /// Profile name the target came from.
    pub profile_name: String,
    /// Adapter type; only `duckdb` is supported.
    pub adapter_type: String,
    /// DuckDB database file, or `:memory:`.
    pub path: String,
    /// The database (DuckDB catalog) name: the file stem of `path`, as dbt-duckdb.
    pub database: String,
    /// Default schema (`main` unless set).
    pub schema: String,
    /// Worker threads for `run`/`build` (default 1).
    pub threads: usize,
    /// DuckDB extensions to `LOAD` on connect.
    pub extensions: Vec<String>,
    /// DuckDB settings to `SET` on connect.
    pub settings: BTreeMap<String, String>,
    /// Where the target came from: the profiles.yml path, or `None` for the embedded default.
    pub profiles_file: Option<PathBuf>,
}

/// How to find profiles.yml.
#[derive(Debug, Clone, Default)]
pub struct ProfileOptions {
    /// `--profiles-dir`.
    pub profiles_dir: Option<PathBuf>,
    /// `--target`.
    pub target: Option<String>,
}

impl Target {
    /// The embedded default: `<project_dir>/<project>.duckdb`, schema `main`, 1 thread.
    pub fn embedded(project_dir: &Path, project_name: &str) -> Target {
        let path = project_dir.join(format!("{project_name}.duckdb"));
        Target {
            name: "dev".into(),
            profile_name: project_name.into(),
            adapter_type: "duckdb".into(),
            path: path.to_string_lossy().into_owned(),
            database: project_name.into(),
            schema: "main".into(),
            threads: 1,
            extensions: Vec::new(),
            settings: BTreeMap::new(),
            profiles_file: None,
        }
    }
}

/// Finds and reads the target for `profile_name`.
///
/// `render` renders a string value that contains Jinja (`env_var`).
///
/// Errors: [`ErrorKind::Profile`] when an explicitly given profiles dir has no
/// profiles.yml or lacks the profile, when the target does not exist, or the
/// type is not `duckdb`; [`ErrorKind::Yaml`] for malformed YAML.
pub fn resolve(
    project_dir: &Path,
    project_name: &str,
    profile_name: &str,
    options: &ProfileOptions,
    render: &dyn Fn(&str) -> Result<String>,
) -> Result<Target> {
    let explicit = options
        .profiles_dir
        .clone()
        .or_else(|| std::env::var_os("DBT_PROFILES_DIR").map(PathBuf::from));
    let candidates: Vec<PathBuf> = match &explicit {
        Some(dir) => vec![dir.join("profiles.yml")],
        None => {
            let mut c = vec![project_dir.join("profiles.yml")];
            if let Some(home) = std::env::var_os("HOME") {
                c.push(PathBuf::from(home).join(".dbt").join("profiles.yml"));
            }
            c
        }
    };
    for file in &candidates {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("read", file, e)),
        };
        let doc: serde_yaml::Value = yaml::parse(file, &text)?;
        let Some(profile) = doc.get(profile_name) else {
            if explicit.is_some() {
                return Err(Error::new(
                    ErrorKind::Profile,
                    format!("profile `{profile_name}` not found in `{}`", file.display()),
                )
                .with_hint(format!(
                    "add a `{profile_name}:` entry, or set `profile:` in dbt_project.yml"
                )));
            }
            continue;
        };
        return read_target(
            file,
            &text,
            profile_name,
            profile,
            options.target.as_deref(),
            render,
        );
    }
    if let Some(dir) = explicit {
        return Err(Error::new(ErrorKind::Profile, format!("no profiles.yml in `{}`", dir.display()))
            .with_hint("create profiles.yml there, or drop --profiles-dir / DBT_PROFILES_DIR to use the embedded DuckDB default"));
    }
    if let Some(t) = &options.target {
        if t != "dev" {
            return Err(Error::new(
                ErrorKind::Profile,
                format!("target `{t}` not found: no profiles.yml defines profile `{profile_name}`"),
            )
            .with_hint("only the embedded `dev` target exists without a profiles.yml"));
        }
    }
    Ok(Target::embedded(project_dir, project_name))
}

fn read_target(
    file: &Path,
    text: &str,
    profile_name: &str,
    profile: &serde_yaml::Value,
    target_override: Option<&str>,
    render: &dyn Fn(&str) -> Result<String>,
) -> Result<Target> {
    let locate = |needle: &str| {
        text.find(needle)
            .map(|off| Location::from_offset(file, text, off))
    };
    let target_name = match target_override {
        Some(t) => t.to_owned(),
        None => match profile.get("target").and_then(|v| v.as_str()) {
            Some(t) => render(t)?,
            None => "dev".to_owned(),
        },
    };
    let outputs = profile.get("outputs").and_then(|o| o.as_mapping());
    let Some(output) = outputs.and_then(|o| o.get(target_name.as_str())) else {
        let known: Vec<String> = outputs
            .map(|o| {
                o.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut err = Error::new(
            ErrorKind::Profile,
            format!("target `{target_name}` not found in profile `{profile_name}`"),
        )
        .with_hint(format!(
            "known targets: {}",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ));
        if let Some(loc) = locate(&format!("{profile_name}:")) {
            err = err.with_location(loc);
        }
        return Err(err);
    };
    let get = |key: &str| -> Result<Option<String>> {
        match output.get(key) {
            None | Some(serde_yaml::Value::Null) => Ok(None),
            Some(serde_yaml::Value::String(s)) => render(s).map(Some),
            Some(other) => Ok(Some(
                serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            )),
        }
    };
    let adapter_type = get("type")?.unwrap_or_default();
    if adapter_type != "duckdb" {
        let mut err = Error::new(
            ErrorKind::Profile,
            format!("target `{target_name}` of profile `{profile_name}` has type `{adapter_type}`; sluice supports `duckdb`"),
        )
        .with_hint("set `type: duckdb` and a `path:` to a DuckDB file");
        if let Some(loc) = locate("type:") {
            err = err.with_location(loc);
        }
        return Err(err);
    }
    let path = get("path")?.unwrap_or_else(|| ":memory:".to_owned());
    let database = match get("database")? {
        Some(d) => d,
        None if path == ":memory:" => "memory".to_owned(),
        None => Path::new(&path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "main".into()),
    };
    let threads = match get("threads")? {
        None => 1,
        Some(t) => t.trim().parse::<usize>().map_err(|_| {
            let mut err = Error::new(
                ErrorKind::Profile,
                format!("`threads` must be a positive integer, got `{t}`"),
            );
            if let Some(loc) = locate("threads:") {
                err = err.with_location(loc);
            }
            err
        })?,
    };
    let extensions = output
        .get("extensions")
        .and_then(|e| e.as_sequence())
        .map(|s| {
            s.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let settings = output
        .get("settings")
        .and_then(|s| s.as_mapping())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        serde_yaml::Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other).ok()?.trim().to_owned(),
                    };
                    Some((k.as_str()?.to_owned(), v))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Target {
        name: target_name,
        profile_name: profile_name.to_owned(),
        adapter_type,
        path,
        database,
        schema: get("schema")?.unwrap_or_else(|| "main".to_owned()),
        threads: threads.max(1),
        extensions,
        settings,
        profiles_file: Some(file.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_render(s: &str) -> Result<String> {
        Ok(s.to_owned())
    }

    #[test]
    fn reads_duckdb_target_from_project_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("profiles.yml"),
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: /tmp/x/shop_dev.duckdb\n      threads: 4\n",
        )
        .unwrap();
        let opts = ProfileOptions {
            profiles_dir: Some(dir.path().into()),
            target: None,
        };
        let t = resolve(dir.path(), "shop", "shop", &opts, &no_render).unwrap();
        assert_eq!(t.database, "shop_dev");
        assert_eq!(t.schema, "main");
        assert_eq!(t.threads, 4);
    }

    #[test]
    fn unknown_target_lists_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("profiles.yml"),
            "shop:\n  outputs:\n    dev:\n      type: duckdb\n",
        )
        .unwrap();
        let opts = ProfileOptions {
            profiles_dir: Some(dir.path().into()),
            target: Some("prod".into()),
        };
        let err = resolve(dir.path(), "shop", "shop", &opts, &no_render).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Profile);
        assert_eq!(err.hint(), Some("known targets: dev"));
    }
}
