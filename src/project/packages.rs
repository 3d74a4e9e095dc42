//! packages.yml (or dependencies.yml), as dbt: the packages a project
//! declares. Each entry becomes a typed [`PackageSpec`] once, here, so the
//! rest of sluice never compares key strings: `package:` (the dbt Hub),
//! `git:`, `tarball:`, `private:` and `local:`. `sluice deps` (see
//! `crate::deps`) installs them; [`loadable_packages`] gives the project
//! loader the folders of the `local:` ones and what `deps` installs.
//!
//! As dbt, string values may hold Jinja (`{{ env_var('GIT_TOKEN') }}`),
//! rendered with `env_var` and the `--vars` of the command line only (dbt's
//! `PackageRenderer`), and each entry is kept as written too: dbt's lock
//! hash covers both forms.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::project::jinja::StrRenderer;

/// One package a project declares, as dbt's `PackageSpec` union.
#[derive(Debug, Clone, PartialEq)]
pub enum PackageSpec {
    /// `package: org/name` from the dbt Hub, with `version:` ranges.
    Hub {
        /// `org/name` on the Hub.
        package: String,
        /// Version specifiers (`1.3.0`, `>=1.0.0`, `<2.0.0`); a YAML string
        /// is one, a list is several.
        version: Vec<String>,
        /// `install_prerelease: true` admits pre-release versions.
        install_prerelease: bool,
    },
    /// `git:` URL at a `revision:` (tag, branch or commit).
    Git {
        /// The (rendered) URL.
        git: String,
        /// Tag, branch or commit sha; `None` is the default branch's HEAD.
        revision: Option<String>,
        /// Folder inside the repository holding the dbt project.
        subdirectory: Option<String>,
        /// `warn-unpinned: false` silences the unpinned-revision warning.
        warn_unpinned: bool,
    },
    /// `tarball:` URL of a `.tar.gz`, installed as `name:`.
    Tarball {
        /// The (rendered) URL.
        tarball: String,
        /// The folder name to install it as.
        name: String,
    },
    /// `private: org/repo`, a git repository of a provider (`github` by
    /// default) whose URL dbt builds itself.
    Private {
        /// `org/repo` (or `org/project/repo` for Azure DevOps).
        private: String,
        /// Tag, branch or commit sha; `None` is the default branch's HEAD.
        revision: Option<String>,
        /// Folder inside the repository holding the dbt project.
        subdirectory: Option<String>,
        /// `github` (default), `gitlab`, `ado`, `azure_devops` or `azure_active_directory`.
        provider: Option<String>,
    },
    /// `local:` folder, relative to the project.
    Local {
        /// The folder as written (rendered).
        local: PathBuf,
    },
}

impl PackageSpec {
    /// dbt's source type name of the entry: `hub`, `git`, `tarball`,
    /// `private` or `local`.
    pub fn kind(&self) -> &'static str {
        match self {
            PackageSpec::Hub { .. } => "hub",
            PackageSpec::Git { .. } => "git",
            PackageSpec::Tarball { .. } => "tarball",
            PackageSpec::Private { .. } => "private",
            PackageSpec::Local { .. } => "local",
        }
    }
}

/// One entry of a packages file with everything `sluice deps` needs beside
/// the spec: the `name:` a lock entry carries, the entry before and after
/// rendering (dbt's lock hash covers both), and where it is.
#[derive(Debug, Clone)]
pub struct DeclaredPackage {
    /// The typed entry.
    pub spec: PackageSpec,
    /// `name:`, which package-lock.yml entries carry (optional elsewhere).
    pub name: Option<String>,
    /// The entry as written, before Jinja rendering (dbt's `unrendered`).
    pub unrendered: Mapping,
    /// The entry with its strings rendered.
    pub rendered: Mapping,
    /// The entry's line in its file, for errors.
    pub location: Option<Location>,
}

/// A project's packages file, read.
#[derive(Debug, Clone)]
pub struct PackagesFile {
    /// `packages.yml` or `dependencies.yml` (relative to the project).
    pub path: PathBuf,
    /// Its entries, in file order.
    pub packages: Vec<DeclaredPackage>,
}

impl PackagesFile {
    /// The folders of the `local:` entries, as written (relative to the
    /// project), in file order.
    pub fn local_dirs(&self) -> Vec<PathBuf> {
        self.packages
            .iter()
            .filter_map(|p| match &p.spec {
                PackageSpec::Local { local } => Some(local.clone()),
                _ => None,
            })
            .collect()
    }
}

/// How strictly string values are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RenderMode {
    /// Every value; a Jinja error is an error.
    Strict,
    /// `local:` values strictly, others kept as written when they fail
    /// (the project loader needs only the folders).
    LocalOnly,
}

/// The keys each kind of entry takes (dbt's contract fields; `name` is
/// what lock entries add).
const HUB_KEYS: &[&str] = &["package", "version", "install_prerelease", "name"];
const GIT_KEYS: &[&str] = &["git", "revision", "warn-unpinned", "subdirectory", "name"];
const TARBALL_KEYS: &[&str] = &["tarball", "name"];
const PRIVATE_KEYS: &[&str] = &[
    "private",
    "provider",
    "revision",
    "warn-unpinned",
    "subdirectory",
    "name",
];
const LOCAL_KEYS: &[&str] = &["local", "name"];
const SOURCE_KEYS: &[&str] = &["local", "tarball", "git", "package", "private"];

/// Declared packages of the project at `root`, in file order; empty when
/// it has no packages.yml / dependencies.yml or they list none.
///
/// Read as dbt reads them: dependencies.yml's `packages:` wins, and both
/// files listing `packages:` is an error; Jinja in values is rendered with
/// `render` (the caller's: `env_var`, and `var` over the command line's `--vars`).
///
/// Errors: [`ErrorKind::Yaml`] for malformed YAML, [`ErrorKind::Config`]
/// (located, with a hint) for an entry with no source, two sources, an
/// unknown key, a wrong value type or a missing required key,
/// [`ErrorKind::Jinja`] for a value that fails to render.
pub fn declared_packages(root: &Path, render: StrRenderer) -> Result<Vec<PackageSpec>> {
    Ok(read_packages(root, render)?
        .map(|f| f.packages.into_iter().map(|p| p.spec).collect())
        .unwrap_or_default())
}

/// The packages file of the project at `root` as the project loader reads
/// it: every entry typed, but Jinja that fails outside `local:` values is
/// kept as written rather than an error (only `deps` needs those values;
/// the loader needs the `local:` folders and how many entries `deps`
/// installs). `None` without a packages file.
///
/// Errors: as [`declared_packages`], except Jinja errors outside `local:`.
pub fn loadable_packages(root: &Path, render: StrRenderer) -> Result<Option<PackagesFile>> {
    let Some((path, text)) = packages_file_text(root)? else {
        return Ok(None);
    };
    let packages = parse_entries(&path, &text, render, RenderMode::LocalOnly)?;
    Ok(Some(PackagesFile { path, packages }))
}

/// The packages file of the project (or installed package) at `root`,
/// its strings rendered with `render`; `None` when it
/// has neither packages.yml nor dependencies.yml with `packages:`.
///
/// Errors: as [`declared_packages`].
pub fn read_packages(root: &Path, render: StrRenderer) -> Result<Option<PackagesFile>> {
    let Some((path, text)) = packages_file_text(root)? else {
        return Ok(None);
    };
    let packages = parse_entries(&path, &text, render, RenderMode::Strict)?;
    Ok(Some(PackagesFile { path, packages }))
}

/// Which file holds the packages and its text, as dbt's
/// `package_and_project_data_from_root`.
fn packages_file_text(root: &Path) -> Result<Option<(PathBuf, String)>> {
    let read = |name: &str| -> Result<Option<(PathBuf, String, Value)>> {
        let full = root.join(name);
        match std::fs::read_to_string(&full) {
            Ok(text) => {
                let value: Value = crate::project::yaml::parse(Path::new(name), &text)?;
                Ok(Some((PathBuf::from(name), text, value)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &full, e)),
        }
    };
    let has_packages = |v: &Value| v.get("packages").is_some();
    let packages = read("packages.yml")?;
    let dependencies = read("dependencies.yml")?;
    match (packages, dependencies) {
        (Some(p), Some(d)) if has_packages(&p.2) && has_packages(&d.2) => Err(Error::new(
            ErrorKind::Config,
            "both `packages.yml` and `dependencies.yml` list `packages:`",
        )
        .with_hint("keep the list in one of them (dbt refuses both)")),
        (_, Some(d)) if has_packages(&d.2) => Ok(Some((d.0, d.1))),
        (Some(p), _) => Ok(Some((p.0, p.1))),
        _ => Ok(None),
    }
}

/// Parses the `packages:` entries of `text` (the contents of `path`, a
/// packages file or package-lock.yml), rendering strings with `render`.
///
/// Errors: as [`declared_packages`].
pub fn parse_packages_text(
    path: &Path,
    text: &str,
    render: StrRenderer,
) -> Result<Vec<DeclaredPackage>> {
    parse_entries(path, text, render, RenderMode::Strict)
}

/// Parses the `packages:` list of an already-parsed document `doc` (a
/// dbt Hub version's metadata, whose `packages` mirror its packages.yml);
/// `label` names it in errors, which carry no line.
///
/// Errors: as [`declared_packages`], unlocated.
pub fn parse_packages_value(
    label: &Path,
    doc: &Value,
    render: StrRenderer,
) -> Result<Vec<DeclaredPackage>> {
    parse_doc(label, "", doc, render, RenderMode::Strict)
}

fn parse_entries(
    path: &Path,
    text: &str,
    render: StrRenderer,
    mode: RenderMode,
) -> Result<Vec<DeclaredPackage>> {
    let doc: Value = crate::project::yaml::parse(path, text)?;
    parse_doc(path, text, &doc, render, mode)
}

fn parse_doc(
    path: &Path,
    text: &str,
    doc: &Value,
    render: StrRenderer,
    mode: RenderMode,
) -> Result<Vec<DeclaredPackage>> {
    let list = match doc.get("packages") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(list)) => list,
        Some(_) => {
            let at = text
                .find("packages")
                .map(|o| Location::from_offset(path, text, o));
            return Err(Error::new(
                ErrorKind::Config,
                format!("`packages` in `{}` is not a list", path.display()),
            )
            .with_hint(
                "list one entry a line, as `packages:` then `  - package: dbt-labs/dbt_utils`",
            )
            .or_location(|| at));
        }
    };
    let mut finder = EntryFinder {
        path,
        text,
        from: 0,
    };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        out.push(parse_entry(&mut finder, entry, render, mode)?);
    }
    Ok(out)
}

/// Locates entries in the file's text: serde_yaml keeps no positions, so
/// each entry is found by its first key and value, searching on from the
/// previous entry.
struct EntryFinder<'a> {
    path: &'a Path,
    text: &'a str,
    from: usize,
}

impl EntryFinder<'_> {
    /// The location of the entry whose source key is `key` with value
    /// `value` (or only `key`), and moves past it.
    fn entry(&mut self, key: &str, value: Option<&str>) -> Option<Location> {
        let rest = &self.text[self.from..];
        let found = value
            .and_then(|v| rest.find(v).filter(|_| !v.is_empty()))
            .and_then(|vo| rest[..vo].rfind(key))
            .or_else(|| rest.find(&format!("{key}:")))
            .or_else(|| rest.find(key))?;
        let offset = self.from + found;
        self.from = offset + key.len();
        Some(Location::from_offset(self.path, self.text, offset))
    }

    /// The location of `key:` at or after `from`.
    fn key(&self, key: &str, from: usize) -> Option<Location> {
        let rest = self.text.get(from..)?;
        let found = rest.find(&format!("{key}:")).or_else(|| rest.find(key))?;
        Some(Location::from_offset(self.path, self.text, from + found))
    }
}

fn parse_entry(
    finder: &mut EntryFinder<'_>,
    entry: &Value,
    render: StrRenderer,
    mode: RenderMode,
) -> Result<DeclaredPackage> {
    let path = finder.path;
    let Value::Mapping(map) = entry else {
        let at = finder.entry("-", None);
        return Err(Error::new(
            ErrorKind::Config,
            format!("an entry of `{}` is not a mapping", path.display()),
        )
        .with_hint(
            "write each entry as keys, e.g. `- package: dbt-labs/dbt_utils` and `version: 1.3.0`",
        )
        .or_location(|| at));
    };
    let keys: Vec<String> = map
        .keys()
        .map(|k| match k {
            Value::String(s) => s.clone(),
            other => serde_yaml::to_string(other)
                .unwrap_or_default()
                .trim()
                .to_owned(),
        })
        .collect();
    let sources: Vec<&str> = SOURCE_KEYS
        .iter()
        .copied()
        .filter(|s| keys.iter().any(|k| k == s))
        .collect();
    let first_key = keys.first().cloned().unwrap_or_default();
    let source_value = sources
        .first()
        .and_then(|s| map.get(*s))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let location = finder.entry(
        sources.first().copied().unwrap_or(first_key.as_str()),
        source_value.as_deref(),
    );
    let start = finder.from.saturating_sub(1);
    let err = |msg: String, hint: String| {
        Error::new(ErrorKind::Config, msg)
            .with_hint(hint)
            .or_location(|| location.clone())
    };
    let kind = match sources.as_slice() {
        [one] => *one,
        [] => {
            return Err(err(
                format!("an entry of `{}` names no package source", path.display()),
                "each entry needs one of `package:` (the dbt Hub), `git:`, `tarball:`, `private:` or `local:`, as `- package: dbt-labs/dbt_utils`".into(),
            ))
        }
        [a, b, ..] => {
            return Err(err(
                format!("an entry of `{}` names two package sources, `{a}:` and `{b}:`", path.display()),
                "split it into one entry per package".into(),
            ))
        }
    };
    let allowed = match kind {
        "package" => HUB_KEYS,
        "git" => GIT_KEYS,
        "tarball" => TARBALL_KEYS,
        "private" => PRIVATE_KEYS,
        _ => LOCAL_KEYS,
    };
    for key in &keys {
        if !allowed.contains(&key.as_str()) {
            let hint = match did_you_mean(key, allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "a `{kind}:` entry takes {}",
                    allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "unknown key `{key}` in a `{kind}:` entry of `{}`",
                    path.display()
                ),
            )
            .with_hint(hint)
            .or_location(|| finder.key(key, start).or(location.clone())));
        }
    }

    // Render every string, as dbt's `render_data`.
    let mut rendered = Mapping::new();
    for (k, v) in map {
        let strict = mode == RenderMode::Strict || k.as_str() == Some("local");
        let value =
            render_value(v, render, strict).map_err(|e| e.or_location(|| location.clone()))?;
        rendered.insert(k.clone(), value);
    }

    let get = |key: &str| rendered.get(key).filter(|v| !v.is_null());
    let string = |key: &str| -> Result<Option<String>> {
        match get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "`{key}` of a `{kind}:` entry in `{}` is not a string",
                    path.display()
                ),
            )
            .with_hint(format!("quote the value, as `{key}: \"...\"`"))
            .or_location(|| finder.key(key, start).or(location.clone()))),
        }
    };
    // `revision:` and `version:` may be YAML numbers (`revision: 1.0`), as
    // dbt's `RawVersion`; they are used as text.
    let version_text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let boolean = |key: &str| -> Result<Option<bool>> {
        match get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "`{key}` of a `{kind}:` entry in `{}` is not `true` or `false`",
                    path.display()
                ),
            )
            .with_hint(format!("write `{key}: true` or `{key}: false`"))
            .or_location(|| finder.key(key, start).or(location.clone()))),
        }
    };
    let revision = || -> Result<Option<String>> {
        match get("revision") {
            None => Ok(None),
            Some(v) => version_text(v).map(Some).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "`revision` of a `{kind}:` entry in `{}` is not a string",
                        path.display()
                    ),
                )
                .with_hint("give one tag, branch or commit sha, as `revision: v1.0.0`")
                .or_location(|| finder.key("revision", start).or(location.clone()))
            }),
        }
    };
    let required = |key: &str, value: Option<String>, hint: &str| -> Result<String> {
        match value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "a `{kind}:` entry of `{}` is missing the value of `{key}`",
                    path.display()
                ),
            )
            .with_hint(hint.to_owned())
            .or_location(|| location.clone())),
        }
    };

    let spec = match kind {
        "package" => {
            let package = required(
                "package",
                string("package")?,
                "name the package as `org/name`, as `package: dbt-labs/dbt_utils`",
            )?;
            if !package.contains('/') {
                return Err(err(
                    format!("hub package `{package}` has no namespace"),
                    format!("packages on the Hub are named `org/name`, e.g. `dbt-labs/{package}`"),
                ));
            }
            let version = match get("version") {
                None => Vec::new(),
                Some(Value::Sequence(items)) => {
                    let mut out = Vec::new();
                    for item in items {
                        out.push(version_text(item).ok_or_else(|| {
                            err(
                                format!("a `version` of hub package `{package}` is not a string"),
                                "write each range as a string, as `version: [\">=1.0.0\", \"<2.0.0\"]`".into(),
                            )
                        })?);
                    }
                    out
                }
                Some(v) => vec![version_text(v).ok_or_else(|| {
                    err(
                        format!("`version` of hub package `{package}` is not a string or a list"),
                        "write `version: 1.3.0` or `version: [\">=1.0.0\", \"<2.0.0\"]`".into(),
                    )
                })?],
            };
            if version.is_empty() || version.iter().any(String::is_empty) {
                return Err(err(
                    format!("hub package `{package}` has no `version`"),
                    "the Hub needs a version or range, as `version: [\">=1.0.0\", \"<2.0.0\"]`"
                        .into(),
                ));
            }
            PackageSpec::Hub {
                package,
                version,
                install_prerelease: boolean("install_prerelease")?.unwrap_or(false),
            }
        }
        "git" => PackageSpec::Git {
            git: required(
                "git",
                string("git")?,
                "give the repository URL, as `git: https://github.com/org/repo.git`",
            )?,
            revision: revision()?,
            subdirectory: string("subdirectory")?,
            warn_unpinned: boolean("warn-unpinned")? != Some(false),
        },
        "tarball" => PackageSpec::Tarball {
            tarball: required(
                "tarball",
                string("tarball")?,
                "give the URL of a .tar.gz, as `tarball: https://example.com/pkg.tar.gz`",
            )?,
            name: required(
                "name",
                string("name")?,
                "a `tarball:` entry needs `name:`, the folder it is installed as",
            )?,
        },
        "private" => PackageSpec::Private {
            private: required(
                "private",
                string("private")?,
                "name the repository as `org/repo`, as `private: my-org/my-package`",
            )?,
            revision: revision()?,
            subdirectory: string("subdirectory")?,
            provider: string("provider")?,
        },
        _ => PackageSpec::Local {
            local: PathBuf::from(required(
                "local",
                string("local")?,
                "give the package's folder, as `local: ../shared_models`",
            )?),
        },
    };
    let name = if kind == "tarball" {
        None
    } else {
        string("name")?
    };
    Ok(DeclaredPackage {
        spec,
        name,
        unrendered: map.clone(),
        rendered,
        location,
    })
}

/// Renders the strings in `value` (recursively) with `render`.
/// When not `strict`, a string that fails to render is kept as written.
fn render_value(value: &Value, render: StrRenderer, strict: bool) -> Result<Value> {
    Ok(match value {
        Value::String(s) => match render(s) {
            Ok(r) => Value::String(r),
            Err(e) if strict => return Err(e),
            Err(_) => Value::String(s.clone()),
        },
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|v| render_value(v, render, strict))
                .collect::<Result<_>>()?,
        ),
        Value::Mapping(map) => {
            let mut out = Mapping::new();
            for (k, v) in map {
                out.insert(k.clone(), render_value(v, render, strict)?);
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The renderer `Project::load` is given (render's), with no vars.
    fn jinja(text: &str) -> Result<String> {
        crate::render::render_config_string(text, &Default::default())
    }

    fn parse(text: &str) -> Result<Vec<DeclaredPackage>> {
        parse_packages_text(Path::new("packages.yml"), text, &jinja)
    }

    #[test]
    fn every_kind_parses_into_its_spec() {
        let text = r#"packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0", "<2.0.0"]
  - package: dbt-labs/codegen
    version: 0.12.1
    install_prerelease: true
  - git: "https://github.com/org/repo.git"
    revision: v1.0
    subdirectory: inner
    warn-unpinned: false
  - tarball: https://example.com/p.tar.gz
    name: p
  - private: org/repo
    provider: gitlab
  - local: ../shared
"#;
        let specs: Vec<PackageSpec> = parse(text).unwrap().into_iter().map(|p| p.spec).collect();
        assert_eq!(
            specs,
            vec![
                PackageSpec::Hub {
                    package: "dbt-labs/dbt_utils".into(),
                    version: vec![">=1.0.0".into(), "<2.0.0".into()],
                    install_prerelease: false
                },
                PackageSpec::Hub {
                    package: "dbt-labs/codegen".into(),
                    version: vec!["0.12.1".into()],
                    install_prerelease: true
                },
                PackageSpec::Git {
                    git: "https://github.com/org/repo.git".into(),
                    revision: Some("v1.0".into()),
                    subdirectory: Some("inner".into()),
                    warn_unpinned: false
                },
                PackageSpec::Tarball {
                    tarball: "https://example.com/p.tar.gz".into(),
                    name: "p".into()
                },
                PackageSpec::Private {
                    private: "org/repo".into(),
                    revision: None,
                    subdirectory: None,
                    provider: Some("gitlab".into())
                },
                PackageSpec::Local {
                    local: "../shared".into()
                },
            ]
        );
    }

    #[test]
    fn unknown_key_is_located_with_a_suggestion() {
        let text = "packages:\n  - git: https://x/y.git\n    warn_unpinned: false\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("unknown key `warn_unpinned`"),
            "{}",
            err.render()
        );
        assert_eq!(err.hint(), Some("did you mean `warn-unpinned`?"));
        let loc = err.location().unwrap();
        assert_eq!((loc.line, loc.col), (3, 5), "{}", err.render());
    }

    #[test]
    fn entry_without_source_and_hub_without_version_are_errors() {
        let err = parse("packages:\n  - local: a\n  - revision: v1\n").unwrap_err();
        assert!(
            err.message().contains("names no package source"),
            "{}",
            err.render()
        );
        assert_eq!(err.location().unwrap().line, 3);
        let err = parse("packages:\n  - package: a/b\n").unwrap_err();
        assert!(
            err.message().contains("has no `version`"),
            "{}",
            err.render()
        );
        assert_eq!(err.location().unwrap().line, 2);
        let err = parse("packages:\n  - package: dbt_utils\n    version: 1.0.0\n").unwrap_err();
        assert!(err.message().contains("no namespace"), "{}", err.render());
    }

    #[test]
    fn env_var_is_rendered_and_the_written_form_kept() {
        std::env::set_var("SLUICE_TEST_PACKAGES_TOKEN", "s3cret");
        let text =
            "packages:\n  - git: \"https://{{ env_var('SLUICE_TEST_PACKAGES_TOKEN') }}@h/r.git\"\n";
        let entry = &parse(text).unwrap()[0];
        assert!(
            matches!(&entry.spec, PackageSpec::Git { git, .. } if git == "https://s3cret@h/r.git")
        );
        assert_eq!(
            entry.unrendered.get("git").and_then(Value::as_str),
            Some("https://{{ env_var('SLUICE_TEST_PACKAGES_TOKEN') }}@h/r.git")
        );
    }

    #[test]
    fn loadable_packages_skip_the_jinja_of_remote_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("packages.yml"),
            "packages:\n  - git: \"{{ env_var('SLUICE_TEST_UNSET_VAR_X') }}\"\n  - local: vendor/a\n  - package: a/b\n    version: 1.0.0\n",
        )
        .unwrap();
        assert_eq!(
            loadable_packages(dir.path(), &jinja)
                .unwrap()
                .unwrap()
                .local_dirs(),
            vec![PathBuf::from("vendor/a")]
        );
        assert!(declared_packages(dir.path(), &jinja).is_err());
    }

    #[test]
    fn dependencies_yml_wins_and_both_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("packages.yml"), "packages:\n  - local: a\n").unwrap();
        std::fs::write(dir.path().join("dependencies.yml"), "projects: []\n").unwrap();
        assert_eq!(
            loadable_packages(dir.path(), &jinja)
                .unwrap()
                .unwrap()
                .local_dirs(),
            vec![PathBuf::from("a")]
        );
        std::fs::write(
            dir.path().join("dependencies.yml"),
            "packages:\n  - local: b\n",
        )
        .unwrap();
        assert!(declared_packages(dir.path(), &jinja).is_err());
        std::fs::remove_file(dir.path().join("packages.yml")).unwrap();
        assert_eq!(
            loadable_packages(dir.path(), &jinja)
                .unwrap()
                .unwrap()
                .local_dirs(),
            vec![PathBuf::from("b")]
        );
    }
}
