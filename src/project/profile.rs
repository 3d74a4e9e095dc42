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
use crate::project::postgres_profile::{self, PostgresProfile};
use crate::project::spark_profile::{self, SparkProfile};
use crate::project::yaml;

/// The resolved connection target: one `outputs:` entry of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Target name (`dev`, ...), exposed as `target.name`.
    pub name: String,
    /// Profile name the target came from.
    pub profile_name: String,
    /// Adapter type: `duckdb`, `postgres` or `spark`.
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
    /// Where `external` models write their files by default (dbt-duckdb's
    /// `external_root`, default `.`); relative to the project directory.
    pub external_root: String,
    /// Other databases to `ATTACH` on connect (dbt-duckdb's `attach:`).
    pub attach: Vec<Attachment>,
    /// Where the target came from: the profiles.yml path, or `None` for the embedded default.
    pub profiles_file: Option<PathBuf>,
    /// The connection of a `type: postgres` target; `None` for DuckDB.
    pub postgres: Option<PostgresProfile>,
    /// The Spark Connect server of a `type: spark` target; `None` otherwise.
    pub spark: Option<SparkProfile>,
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
            external_root: ".".into(),
            attach: Vec::new(),
            profiles_file: None,
            postgres: None,
            spark: None,
        }
    }
}

/// One `attach:` entry of a DuckDB profile, as dbt-duckdb's `Attachment`:
/// another database (DuckDB file, SQLite, Postgres...) visible to every
/// model and source under its alias.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attachment {
    /// The file path or connection string.
    pub path: String,
    /// The catalog name; the file stem of `path` when unset (DuckDB's rule).
    pub alias: Option<String>,
    /// `TYPE` (`duckdb`, `sqlite`, `postgres`).
    pub kind: Option<String>,
    /// `SECRET` name.
    pub secret: Option<String>,
    /// Attached `READ_ONLY`.
    pub read_only: bool,
    /// Any other `ATTACH` options, in file order: (key, value as SQL text or
    /// `None` for a bare flag).
    pub options: Vec<(String, Option<String>)>,
}

impl Attachment {
    /// The `ATTACH IF NOT EXISTS ...` statement, as dbt-duckdb's `to_sql`:
    /// direct fields first, then `options` (booleans as bare flags when
    /// true, strings quoted unless already quoted).
    pub fn to_sql(&self) -> String {
        let mut sql = format!("ATTACH IF NOT EXISTS '{}'", self.path.replace('\'', "''"));
        if let Some(alias) = &self.alias {
            sql.push_str(&format!(" AS \"{}\"", alias.replace('"', "\"\"")));
        }
        let mut opts = Vec::new();
        if let Some(kind) = &self.kind {
            opts.push(format!("TYPE {kind}"));
        }
        if let Some(secret) = &self.secret {
            opts.push(format!("SECRET {secret}"));
        }
        if self.read_only {
            opts.push("READ_ONLY".to_owned());
        }
        for (key, value) in &self.options {
            match value {
                None => opts.push(key.to_uppercase()),
                Some(v) => opts.push(format!("{} {v}", key.to_uppercase())),
            }
        }
        if !opts.is_empty() {
            sql.push_str(&format!(" ({})", opts.join(", ")));
        }
        sql
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
    let threads = match get("threads")? {
        None => 1,
        Some(t) => t.trim().parse::<usize>().map_err(|_| {
            located(
                format!("`threads` must be a positive integer, got `{t}`"),
                locate("threads:"),
            )
        })?,
    };
    if adapter_type == "postgres" {
        let (profile, schema) = postgres_profile::read(&get, &locate, &target_name, profile_name)?;
        return Ok(Target {
            name: target_name,
            profile_name: profile_name.to_owned(),
            adapter_type,
            path: String::new(),
            database: profile.dbname.clone(),
            schema,
            threads,
            extensions: Vec::new(),
            settings: BTreeMap::new(),
            external_root: ".".into(),
            attach: Vec::new(),
            profiles_file: Some(file.to_path_buf()),
            postgres: Some(profile),
            spark: None,
        });
    }
    if adapter_type == "spark" {
        let params = match output.get("server_side_parameters") {
            Some(serde_yaml::Value::Mapping(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), yaml_text(v)?)))
                .collect(),
            _ => BTreeMap::new(),
        };
        let (profile, schema) =
            spark_profile::read(&get, params, &locate, &target_name, profile_name)?;
        return Ok(Target {
            name: target_name,
            profile_name: profile_name.to_owned(),
            adapter_type,
            path: String::new(),
            // Spark has schemas only: relations render `schema.identifier`,
            // and manifest.json's `database` is empty, as dbt-spark's.
            database: String::new(),
            schema,
            threads,
            extensions: Vec::new(),
            settings: BTreeMap::new(),
            external_root: ".".into(),
            attach: Vec::new(),
            profiles_file: Some(file.to_path_buf()),
            postgres: None,
            spark: Some(profile),
        });
    }
    if adapter_type != "duckdb" {
        let mut err = Error::new(
            ErrorKind::Profile,
            format!("target `{target_name}` of profile `{profile_name}` has type `{adapter_type}`; sluice supports `duckdb`, `postgres` and `spark`"),
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
    // dbt-duckdb takes names, or mappings with a `name` (and a `repo`).
    let extensions = output
        .get("extensions")
        .and_then(|e| e.as_sequence())
        .map(|s| {
            s.iter()
                .filter_map(|v| match v {
                    serde_yaml::Value::Mapping(m) => m.get("name").and_then(|n| n.as_str()),
                    other => other.as_str(),
                })
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let settings = output
        .get("settings")
        .and_then(|s| s.as_mapping())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), yaml_text(v)?)))
                .collect()
        })
        .unwrap_or_default();
    let attach = match output.get("attach") {
        None | Some(serde_yaml::Value::Null) => Vec::new(),
        Some(serde_yaml::Value::Sequence(entries)) => entries
            .iter()
            .map(|e| attachment(e, render).map_err(|msg| profile_error(msg, locate("attach:"))))
            .collect::<Result<Vec<_>>>()?,
        Some(_) => {
            return Err(profile_error(
                "`attach` must be a list of databases, each with a `path`".into(),
                locate("attach:"),
            ))
        }
    };
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
        external_root: get("external_root")?.unwrap_or_else(|| ".".to_owned()),
        attach,
        profiles_file: Some(file.to_path_buf()),
        postgres: None,
        spark: None,
    })
}

/// A scalar YAML value as text (`true`, `4`, `'1GB'`); none for lists and maps.
fn yaml_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A profile error `msg` at `location`, without a hint.
fn located(msg: String, location: Option<Location>) -> Error {
    let err = Error::new(ErrorKind::Profile, msg);
    match location {
        Some(loc) => err.with_location(loc),
        None => err,
    }
}

fn profile_error(msg: String, location: Option<Location>) -> Error {
    let mut err = Error::new(ErrorKind::Profile, msg)
        .with_hint("each `attach:` entry is a mapping: `path:` and optionally `alias:`, `type:`, `read_only:`, `secret:`, `options:`");
    if let Some(loc) = location {
        err = err.with_location(loc);
    }
    err
}

/// One `attach:` entry, as dbt-duckdb reads it: a field given both directly
/// and under `options:` is an error.
fn attachment(
    entry: &serde_yaml::Value,
    render: &dyn Fn(&str) -> Result<String>,
) -> std::result::Result<Attachment, String> {
    let map = entry
        .as_mapping()
        .ok_or("an `attach:` entry must be a mapping with a `path`")?;
    let text = |key: &str| -> std::result::Result<Option<String>, String> {
        match map.get(key).and_then(yaml_text) {
            Some(s) => render(&s).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    };
    let path = text("path")?.ok_or("an `attach:` entry has no `path`")?;
    let options = map.get("options").and_then(|o| o.as_mapping());
    let mut out = Attachment {
        path,
        alias: text("alias")?,
        kind: text("type")?,
        secret: text("secret")?,
        read_only: map
            .get("read_only")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        options: Vec::new(),
    };
    if let Some(options) = options {
        for (k, v) in options {
            let key = k.as_str().unwrap_or_default().to_owned();
            let direct = match key.as_str() {
                "type" => out.kind.is_some(),
                "secret" => out.secret.is_some(),
                "read_only" => out.read_only,
                _ => false,
            };
            if direct {
                return Err(format!(
                    "attach `{}`: option `{key}` is given both directly and under `options:`; give it once",
                    out.path
                ));
            }
            match (key.as_str(), v) {
                ("type", v) => out.kind = yaml_text(v),
                ("secret", v) => out.secret = yaml_text(v),
                ("read_only", v) => out.read_only = v.as_bool().unwrap_or(false),
                (_, serde_yaml::Value::Bool(b)) => {
                    if *b {
                        out.options.push((key, None));
                    }
                }
                (_, serde_yaml::Value::String(s)) => {
                    let t = s.trim();
                    let quoted = t.len() >= 2
                        && ((t.starts_with('\'') && t.ends_with('\''))
                            || (t.starts_with('"') && t.ends_with('"')));
                    let value = if quoted {
                        s.clone()
                    } else {
                        format!("'{}'", s.replace('\'', "''"))
                    };
                    out.options.push((key, Some(value)));
                }
                (_, serde_yaml::Value::Null) => {}
                (_, other) => out.options.push((key, yaml_text(other))),
            }
        }
    }
    Ok(out)
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
