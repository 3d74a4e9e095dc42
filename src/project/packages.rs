//! packages.yml (or dependencies.yml), as dbt: the packages a project
//! installs. sluice reads `local:` packages straight from their folders (no
//! `deps` step needed: `sluice deps` only checks the file); hub (`package:`),
//! `git:`, `tarball:` and `private:` packages are refused with a clear error
//! rather than ignored, since models that ref them could not compile.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Location, Result};

/// The file's shape: `packages:` entries with one source key each.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PackagesFile {
    packages: Vec<serde_yaml::Mapping>,
}

/// The folders of the `local:` packages of the project at `root`, relative
/// to it, in file order; none without a packages.yml / dependencies.yml.
///
/// Errors: [`ErrorKind::Yaml`] for malformed YAML, [`ErrorKind::Config`]
/// (located) for a remote package or an entry without a source.
pub fn local_packages(root: &Path) -> Result<Vec<PathBuf>> {
    let Some((file, text)) = ["packages.yml", "dependencies.yml"]
        .iter()
        .find_map(|name| {
            std::fs::read_to_string(root.join(name))
                .ok()
                .map(|t| (PathBuf::from(name), t))
        })
    else {
        return Ok(Vec::new());
    };
    let parsed: PackagesFile = crate::project::yaml::parse(&file, &text)?;
    let mut out = Vec::new();
    for entry in &parsed.packages {
        let get = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(local) = get("local") {
            out.push(PathBuf::from(local));
            continue;
        }
        let (kind, name) = ["package", "git", "tarball", "private"]
            .iter()
            .find_map(|k| get(k).map(|v| (*k, v)))
            .unwrap_or(("", String::new()));
        if !kind.is_empty() {
            // Installed under packages-install-path by `deps`; see project::installed.
            continue;
        }
        let at = text
            .find(&name)
            .filter(|_| !name.is_empty())
            .map(|o| Location::from_offset(&file, &text, o));
        let err = if kind.is_empty() {
            Error::new(
                ErrorKind::Config,
                format!("an entry of `{}` names no package source", file.display()),
            )
            .with_hint("each entry needs `local:` (a folder), as `- local: ../shared_models`")
        } else {
            Error::new(
                ErrorKind::Config,
                format!("`{kind}:` packages are not supported yet (`{name}`): sluice installs only `local:` packages"),
            )
            .with_hint(format!(
                "download or vendor `{name}` into a folder of the repository and list it as `- local: path/to/it`"
            ))
        };
        return Err(err.or_location(|| at));
    }
    Ok(out)
}
