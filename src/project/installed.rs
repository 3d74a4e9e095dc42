//! Which packages a project uses: the `local:` folders of packages.yml,
//! read in place, and every package `dbt deps` or `sluice deps` installed
//! under `packages-install-path` (default `dbt_packages/`), as dbt loads
//! every folder with a dbt_project.yml there. No network, no `deps` run:
//! a project whose packages are installed builds offline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::project::dbt_project::DbtProject;
use crate::project::packages;

/// The dbt version whose behaviour sluice follows; `require-dbt-version`
/// ranges are checked against it.
pub const DBT_VERSION: [u64; 3] = [1, 12, 0];

/// The folders (relative to `root`) of the packages the project uses: the
/// `local:` entries of packages.yml in file order, then the installed
/// packages under the install path, sorted by folder name. A folder reached
/// both ways is listed once.
///
/// Errors: those of [`packages::local_packages`]; [`ErrorKind::Config`],
/// located in packages.yml, when it lists more non-local packages than are
/// installed (as dbt: "run `dbt deps`").
pub fn package_dirs(root: &Path, config: &DbtProject) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for dir in packages::local_packages(root)? {
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
    let mut installed_names = HashSet::new();
    for dir in installed {
        if seen.insert(canonical(&root.join(&dir))) {
            remote_installed += 1;
            if let Some(name) = project_name(&root.join(&dir)) {
                installed_names.insert(name);
            }
            if let Some(folder) = dir.file_name() {
                installed_names.insert(folder.to_string_lossy().into_owned());
            }
            out.push(dir);
        }
    }
    // package-lock.yml names every package `deps` installed (dbt >= 1.7
    // writes `name:`): each must be there. dbt itself only compares counts.
    if let Some((text, names)) = locked_names(root) {
        if let Some((name, offset)) = names.iter().find(|(n, _)| !installed_names.contains(n)) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "package `{name}` is locked in `package-lock.yml` but not installed in `{}/`",
                    config.packages_install_path
                ),
            )
            .with_location(Location::from_offset(
                Path::new("package-lock.yml"),
                &text,
                *offset,
            ))
            .with_hint("run `sluice deps` (or `dbt deps`) to install the project's packages"));
        }
    }
    if let Some((file, text, remote_declared)) = declared_remote(root) {
        if remote_installed < remote_declared {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "`{file}` lists {remote_declared} package(s) to install, but only {remote_installed} {} installed in `{}/`",
                    if remote_installed == 1 { "is" } else { "are" },
                    config.packages_install_path
                ),
            )
            .with_location(Location::from_offset(Path::new(file), &text, 0))
            .with_hint("run `sluice deps` (or `dbt deps`) to install the project's packages"));
        }
    }
    Ok(out)
}

/// The `name:` of the dbt_project.yml in `dir`.
fn project_name(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("dbt_project.yml")).ok()?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    doc.get("name")?.as_str().map(str::to_owned)
}

/// The text of package-lock.yml and the `name:` of each locked package
/// with its offset in the text, when the project has a lock file.
fn locked_names(root: &Path) -> Option<(String, Vec<(String, usize)>)> {
    let text = std::fs::read_to_string(root.join("package-lock.yml")).ok()?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    let names = doc
        .get("packages")?
        .as_sequence()?
        .iter()
        // A tarball's `name:` is what the user called it, not its project name.
        .filter(|e| e.get("local").is_none() && e.get("tarball").is_none())
        .filter_map(|e| e.get("name")?.as_str().map(str::to_owned))
        .map(|n| {
            let offset = text.find(&format!("name: {n}")).unwrap_or(0);
            (n, offset)
        })
        .collect();
    Some((text, names))
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `(file name, text, number of entries that are not `local:`)` of the
/// project's packages.yml or dependencies.yml, when it has one.
fn declared_remote(root: &Path) -> Option<(&'static str, String, usize)> {
    let (file, text) = ["packages.yml", "dependencies.yml"]
        .into_iter()
        .find_map(|name| {
            std::fs::read_to_string(root.join(name))
                .ok()
                .map(|t| (name, t))
        })?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    let entries = doc.get("packages")?.as_sequence()?;
    let remote = entries.iter().filter(|e| e.get("local").is_none()).count();
    Some((file, text, remote))
}

/// A warning when `require-dbt-version` of `project` excludes
/// [`DBT_VERSION`]: dbt refuses to run such a package, sluice builds it and
/// says so (its behaviour is dbt 1.x's either way).
pub fn dbt_version_warning(project: &DbtProject) -> Option<String> {
    let spec = project.require_dbt_version.as_ref()?;
    let ranges: Vec<String> = match spec {
        serde_yaml::Value::String(s) => vec![s.clone()],
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => return None,
    };
    let excluded = ranges.iter().any(|r| !admits(r, DBT_VERSION));
    excluded.then(|| {
        format!(
            "warning: package `{}` requires dbt `{}`, which excludes dbt {}.{}.{} (the behaviour sluice follows); building it anyway",
            project.name,
            ranges.join(", "),
            DBT_VERSION[0],
            DBT_VERSION[1],
            DBT_VERSION[2]
        )
    })
}

/// Whether one range (`>=1.3.0`, `<2.0.0`, `1.5.0`, `=1.2`) admits
/// `version`. Unparsable ranges admit everything (no false warnings).
fn admits(range: &str, version: [u64; 3]) -> bool {
    let range = range.trim();
    let (op, rest) = [">=", "<=", ">", "<", "="]
        .iter()
        .find_map(|op| range.strip_prefix(op).map(|r| (*op, r.trim())))
        .unwrap_or(("=", range));
    let mut parts = [0u64; 3];
    for (i, p) in rest.split('.').take(3).enumerate() {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        match digits.parse() {
            Ok(n) => parts[i] = n,
            Err(_) => return true,
        }
    }
    let ord = version.cmp(&parts);
    match op {
        ">=" => ord.is_ge(),
        "<=" => ord.is_le(),
        ">" => ord.is_gt(),
        "<" => ord.is_lt(),
        _ => ord.is_eq(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ranges_are_checked_against_dbt_1_12() {
        assert!(admits(">=1.3.0", DBT_VERSION));
        assert!(admits("<2.0.0", DBT_VERSION));
        assert!(!admits("<1.5.0", DBT_VERSION));
        assert!(!admits(">=2.0.0", DBT_VERSION));
        assert!(admits("1.12.0", DBT_VERSION));
        assert!(admits("not a version", DBT_VERSION));
    }
}
