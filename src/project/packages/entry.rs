//! Parsing the `packages:` list of a packages file (or package-lock.yml,
//! or a Hub version's metadata) into typed entries: each entry's source
//! and keys checked, its strings rendered, and errors located in the file.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::project::jinja::StrRenderer;
use crate::project::packages::spec::{DeclaredPackage, PackageSpec};

/// How strictly string values are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RenderMode {
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

pub(super) fn parse_doc(
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
