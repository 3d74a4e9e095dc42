//! Which packages a project uses: the `local:` folders of packages.yml,
//! read in place, and every package `dbt deps` or `sluice deps` installed
//! under `packages-install-path` (default `dbt_packages/`), as dbt loads
//! every folder with a dbt_project.yml there. No network, no `deps` run:
//! a project whose packages are installed builds offline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::project::dbt_project::DbtProject;
use crate::project::jinja::StrRenderer;
use crate::project::packages::{self, PackageSpec};
use crate::project::semver;

/// The dbt version whose behaviour sluice follows; `require-dbt-version`
/// ranges are checked against it.
pub const DBT_VERSION: &str = "1.12.0";

/// The dbt version sluice's artifacts claim compatibility with (their
/// `dbt_version`), which `sluice deps` also answers hub packages'
/// `require_dbt_version` with. Kept here, beside [`DBT_VERSION`], so that
/// both the artifacts and `deps` read it from the project layer.
pub const DBT_VERSION_COMPAT: &str = "1.8.0";

/// The folders (relative to `root`) of the packages the project uses: the
/// `local:` entries of packages.yml in file order, then the installed
/// packages under the install path, sorted by folder name. A folder reached
/// both ways is listed once.
///
/// Errors: those of [`packages::loadable_packages`]; [`ErrorKind::Config`],
/// located in packages.yml, when it lists more non-local packages than are
/// installed (as dbt: "run `dbt deps`").
pub fn package_dirs(root: &Path, config: &DbtProject, render: StrRenderer) -> Result<Vec<PathBuf>> {
    let declared = packages::loadable_packages(root, render)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for dir in declared.iter().flat_map(|f| f.local_dirs()) {
        if seen.insert(canonical(&root.join(&dir))) {
            out.push(dir);
        }
    }
    let install = Path::new(&config.packages_install_path);
    let mut installed: Vec<PathBuf> = match std::fs::read_dir(root.join(install)) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("dbt_project.yml").is_file())
            .map(|e| install.join(e.file_name()))
            .collect(),
        Err(_) => Vec::new(),
    };
    installed.sort();
    let mut remote_installed = 0usize;
    for dir in installed {
        if seen.insert(canonical(&root.join(&dir))) {
            remote_installed += 1;
            out.push(dir);
        }
    }
    if let Some(file) = declared {
        let remote: Vec<_> = file
            .packages
            .iter()
            .filter(|p| !matches!(p.spec, PackageSpec::Local { .. }))
            .collect();
        if remote_installed < remote.len() {
            let err = Error::new(
                ErrorKind::Config,
                format!(
                    "`{}` lists {} package(s) to install, but only {remote_installed} {} installed in `{}/`",
                    file.path.display(),
                    remote.len(),
                    if remote_installed == 1 { "is" } else { "are" },
                    config.packages_install_path
                ),
            )
            .with_hint("run `sluice deps` (or `dbt deps`) to install the project's packages");
            return Err(err.or_location(|| remote.first().and_then(|p| p.location.clone())));
        }
    }
    Ok(out)
}

/// Checks that every hub and git package package-lock.yml names (dbt >=
/// 1.7 writes `name:`) is among `installed`: the project names and folder
/// names of the packages loaded from the install path. dbt itself only
/// compares counts. A lock file that does not parse is left to `deps`.
///
/// Errors: [`ErrorKind::Config`], located at the lock entry, with a hint to
/// run deps.
pub fn check_locked(
    root: &Path,
    config: &DbtProject,
    installed: &HashSet<&str>,
    render: StrRenderer,
) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(root.join("package-lock.yml")) else {
        return Ok(());
    };
    let lock = Path::new("package-lock.yml");
    let Ok(entries) = packages::parse_packages_text(lock, &text, render) else {
        return Ok(());
    };
    // A tarball's `name:` is what the user called it, not its project name.
    let missing = entries.iter().find(|e| {
        !matches!(
            e.spec,
            PackageSpec::Local { .. } | PackageSpec::Tarball { .. }
        ) && e.name.as_deref().is_some_and(|n| !installed.contains(n))
    });
    match missing {
        Some(entry) => Err(Error::new(
            ErrorKind::Config,
            format!(
                "package `{}` is locked in `package-lock.yml` but not installed in `{}/`",
                entry.name.as_deref().unwrap_or_default(),
                config.packages_install_path
            ),
        )
        .with_hint("run `sluice deps` (or `dbt deps`) to install the project's packages")
        .or_location(|| entry.location.clone())),
        None => Ok(()),
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A warning when `require-dbt-version` of `project` excludes
/// [`DBT_VERSION`]: dbt refuses to run such a package, sluice builds it and
/// says so (its behaviour is dbt 1.x's either way).
pub fn dbt_version_warning(project: &DbtProject) -> Option<Error> {
    let spec = project.require_dbt_version.as_ref()?;
    let ranges: Vec<String> = match spec {
        serde_yaml::Value::String(s) => vec![s.clone()],
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => return None,
    };
    (!semver::admits(&ranges, DBT_VERSION)).then(|| {
        Error::new(
            ErrorKind::Config,
            format!(
                "package `{}` requires dbt `{}`, which excludes dbt {DBT_VERSION} (the behaviour sluice follows); building it anyway",
                project.name,
                ranges.join(", "),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ranges_are_checked_against_dbt_1_12() {
        let admits = |r: &str| semver::admits(&[r.to_owned()], DBT_VERSION);
        assert!(admits(">=1.3.0"));
        assert!(admits("<2.0.0"));
        assert!(!admits("<1.5.0"));
        assert!(!admits(">=2.0.0"));
        assert!(admits("1.12.0"));
        assert!(admits("not a version"));
    }
}
