//! `sluice deps`: installs the packages of packages.yml (or
//! dependencies.yml) into `<project>/<packages-install-path>/<name>`, as
//! dbt-core >= 1.7's `dbt deps`.
//!
//! The steps follow dbt's `task/deps.py`: with `--add-package`, the entry
//! is added to the packages file first; then package-lock.yml is used when
//! its `sha1_hash` matches the declared packages (and `--upgrade` is not
//! given), otherwise every package and its dependencies are resolved
//! afresh ([`resolve`]) and the lock rewritten ([`lock`]); `--lock` stops
//! there. Unlike dbt, installing is atomic: every package is fetched into a
//! scratch folder inside the install path first (hub and tarball
//! downloads through [`hub`] and [`tarball`], git checkouts through
//! [`git`], local packages as symlinks), and only when all succeeded is
//! the install path emptied and the new folders renamed into it. A failure
//! leaves the install path and the lock file exactly as they were.

pub mod git;
pub mod hub;
pub mod lock;
pub mod pyyaml;
pub mod resolve;
pub mod tarball;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_yaml::{Mapping, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::execute::output::Printer;
use crate::project::packages::{read_packages, PackagesFile};
use crate::project::DbtProject;
use resolve::{Ctx, Pinned, Source};

/// Where `--add-package` adds a package from (dbt's `--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddSource {
    /// A dbt Hub package: `package:` + `version:`.
    #[default]
    Hub,
    /// A git URL: `git:` + `revision:`.
    Git,
    /// A folder: `local:`.
    Local,
}

/// What `sluice deps` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct DepsOptions {
    /// The project directory.
    pub project_dir: PathBuf,
    /// `--vars` (YAML), for Jinja in packages.yml.
    pub vars: Option<String>,
    /// `--upgrade`: resolve afresh even when the lock matches.
    pub upgrade: bool,
    /// `--lock`: resolve and write package-lock.yml, install nothing.
    pub lock: bool,
    /// `--add-package name@version`.
    pub add_package: Option<String>,
    /// `--source` of `--add-package`.
    pub source: AddSource,
    /// `--quiet`: print errors only.
    pub quiet: bool,
}

/// Runs `sluice deps` (see the module docs).
///
/// Errors: [`ErrorKind::Usage`] for a bad `--add-package`/`--vars`;
/// [`ErrorKind::Config`] (located where possible) for malformed packages
/// files, version conflicts naming both requirers, unknown packages;
/// [`ErrorKind::Io`] for a download or checkout that failed, naming the
/// package and the URL. On any error the install path and the lock are
/// left as they were.
pub fn run(opts: &DepsOptions) -> Result<()> {
    let printer = Printer::new(opts.quiet);
    let dir = if opts.project_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        opts.project_dir.clone()
    };
    // As dbt (GH-7615), work from the absolute project root.
    let root = std::fs::canonicalize(&dir).map_err(|e| {
        Error::io("open", &dir, e)
            .with_hint("run sluice inside a dbt project, or pass `--project-dir <dir>`")
    })?;
    let project_file = root.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project_file).map_err(|e| {
        Error::io("read", &project_file, e)
            .with_hint("run sluice inside a dbt project, or pass `--project-dir <dir>`")
    })?;
    let config = DbtProject::parse(Path::new("dbt_project.yml"), &text)?;
    let vars: BTreeMap<String, Json> = match &opts.vars {
        Some(v) => crate::project::parse_cli_vars(v)?,
        None => BTreeMap::new(),
    };

    if let Some(add) = &opts.add_package {
        add_package(&root, add, opts.source, &printer)?;
    }

    let declared = read_packages(&root, &|s: &str| {
        crate::render::render_config_string(s, &vars)
    })?;
    let install = root.join(&config.packages_install_path);
    let Some(file) = declared.filter(|f| !f.packages.is_empty()) else {
        printer.line("Warning: No packages were found in packages.yml");
        if !opts.lock {
            // dbt empties the install path all the same.
            let scratch = Scratch::create(&install)?;
            scratch.swap_in(&[])?;
        }
        return Ok(());
    };

    let hash = lock::sha1_hash(&file.packages);
    let existing = lock::read(&root, &vars)?;
    let use_lock = !opts.upgrade
        && existing
            .as_ref()
            .is_some_and(|l| l.sha1_hash.as_deref() == Some(hash.as_str()));
    if use_lock && opts.lock {
        // dbt: the lock already matches packages.yml; nothing to write.
        return Ok(());
    }

    let scratch = Scratch::create(&install)?;
    let result = install_all(
        &root, &config, &vars, &printer, &file, &hash, existing, use_lock, opts.lock, &scratch,
    );
    match result {
        Ok(staged) => {
            if let Some(staged) = staged {
                scratch.swap_in(&staged)?;
            } else {
                scratch.discard();
            }
            Ok(())
        }
        Err(e) => {
            scratch.discard();
            Err(e)
        }
    }
}

/// Resolves (or reads the lock), stages every package and writes the
/// lock. Returns the staged package names, or `None` for `--lock`.
#[allow(clippy::too_many_arguments)]
fn install_all(
    root: &Path,
    config: &DbtProject,
    vars: &BTreeMap<String, Json>,
    printer: &Printer,
    file: &PackagesFile,
    hash: &str,
    existing: Option<lock::Lock>,
    use_lock: bool,
    lock_only: bool,
    scratch: &Scratch,
) -> Result<Option<Vec<String>>> {
    let mut ctx = Ctx::new(
        root,
        &config.name,
        vars,
        hub::Hub::from_env(),
        scratch.work(),
        printer,
    );
    let pinned = match existing.filter(|_| use_lock) {
        Some(l) => resolve::resolve_lock(&mut ctx, &l.packages)?,
        None => {
            let pinned = resolve::resolve(&mut ctx, &file.packages, &file.path)?;
            let entries: Vec<lock::LockEntry> = pinned.iter().map(Pinned::lock_entry).collect();
            let text = lock::render(&entries, hash);
            if lock_only {
                write_lock(root, &text, printer);
                return Ok(None);
            }
            // Written once everything is staged (below), so a failed
            // download leaves the old lock.
            let staged = stage_all(&mut ctx, &pinned, scratch)?;
            write_lock(root, &text, printer);
            report_updates(printer, &pinned);
            return Ok(Some(staged));
        }
    };
    let staged = stage_all(&mut ctx, &pinned, scratch)?;
    report_updates(printer, &pinned);
    Ok(Some(staged))
}

/// Writes package-lock.yml through a temp file and a rename; a failure is
/// a note, not an error (as dbt: the lock is an optimisation).
fn write_lock(root: &Path, text: &str, printer: &Printer) {
    let path = root.join(lock::LOCK_FILE);
    let tmp = root.join(format!("{}.tmp", lock::LOCK_FILE));
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
    match written {
        Ok(()) => printer.line(&format!(
            "Updating lock file in file path: {}",
            path.display()
        )),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            printer.line(&format!(
                "Could not write package lock file {}: {e}. Proceeding without updating the lock file.",
                path.display()
            ));
        }
    }
}

/// Fetches every pinned package into the staging folder, printing dbt's
/// `Installing ...` / `Installed from ...` lines. Returns the folder names.
fn stage_all(ctx: &mut Ctx<'_>, pinned: &[Pinned], scratch: &Scratch) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for p in pinned {
        ctx.printer
            .line(&format!("Installing {}", p.display_name()));
        let dest = scratch.stage().join(&p.name);
        match &p.source {
            Source::Hub {
                package,
                tarball_url,
                ..
            } => {
                let file = ctx.scratch("hub").with_extension("tar.gz");
                ctx.hub.http().download(tarball_url, package, &file)?;
                let into = ctx.scratch("hub");
                let top = tarball::unpack(&file, &into, tarball_url, package)?;
                rename(&top, &dest)?;
            }
            Source::Git {
                clone_dir,
                subdirectory,
                ..
            } => {
                // As dbt: the clone (with its .git) or only the subdirectory.
                let from = match subdirectory {
                    Some(s) => clone_dir.join(s),
                    None => clone_dir.clone(),
                };
                copy_or_rename(&from, &dest)?;
            }
            Source::Tarball { dir, .. } => copy_or_rename(dir, &dest)?,
            Source::Local { abs, .. } => link(abs, &dest)?,
        }
        ctx.printer
            .line(&format!("Installed from {}", p.nice_version()));
        if let Source::Hub {
            version, latest, ..
        } = &p.source
        {
            match latest {
                Some(l) if l != version => {
                    ctx.printer.line(&format!("Updated version available: {l}"))
                }
                _ => ctx.printer.line("Up to date!"),
            }
        }
        if let Source::Git {
            subdirectory: Some(s),
            ..
        } = &p.source
        {
            ctx.printer.line(&format!("and subdirectory {s}"));
        }
        names.push(p.name.clone());
    }
    Ok(names)
}

/// dbt's closing note on hub packages with newer versions.
fn report_updates(printer: &Printer, pinned: &[Pinned]) {
    let outdated: Vec<String> = pinned
        .iter()
        .filter_map(|p| match &p.source {
            Source::Hub {
                package,
                version,
                latest: Some(l),
                ..
            } if l != version => Some(format!("'{package}'")),
            _ => None,
        })
        .collect();
    if !outdated.is_empty() {
        printer.line("");
        printer.line(&format!(
            "Updates available for packages: [{}]",
            outdated.join(", ")
        ));
        printer.line("Update your versions in packages.yml, then run sluice deps");
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io("move", from, e))
}

/// Moves a fetched folder into the staging folder (both are in the
/// scratch folder, so a rename), copying where a rename fails.
fn copy_or_rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).or_else(|_| copy_dir(from, to))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("create", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io("read", from, e))? {
        let entry = entry.map_err(|e| Error::io("read", from, e))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| Error::io("read", &src, e))?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| Error::io("read", &src, e))?;
            symlink(&target, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| Error::io("copy", &src, e))?;
        }
    }
    Ok(())
}

/// A local package: a symlink to its absolute folder (as dbt), a copy
/// where symlinks are not available.
fn link(target: &Path, dest: &Path) -> Result<()> {
    if !target.join("dbt_project.yml").is_file() {
        return Err(Error::new(
            ErrorKind::MissingFile,
            format!(
                "local package folder `{}` has no dbt_project.yml",
                target.display()
            ),
        )
        .with_hint("a `local:` entry names a dbt project folder, relative to the project"));
    }
    symlink(target, dest).or_else(|_| copy_dir(target, dest))
}

#[cfg(unix)]
fn symlink(target: &Path, dest: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, dest).map_err(|e| Error::io("link", dest, e))
}

#[cfg(not(unix))]
fn symlink(_target: &Path, dest: &Path) -> Result<()> {
    // dbt copies the folder where symlinks are not available.
    Err(Error::new(
        ErrorKind::Io,
        format!("cannot link `{}`: no symlinks here", dest.display()),
    ))
}

/// The scratch folder `<install-path>/.sluice-tmp-<pid>`: `work/` holds
/// downloads and clones, `stage/` the package folders to move into place.
struct Scratch {
    install: PathBuf,
    dir: PathBuf,
    /// Whether the install path was created for this run (removed again
    /// when nothing is installed).
    created_install: bool,
}

impl Scratch {
    fn create(install: &Path) -> Result<Scratch> {
        let created_install = !install.exists();
        std::fs::create_dir_all(install).map_err(|e| Error::io("create", install, e))?;
        let dir = install.join(format!(".sluice-tmp-{}", std::process::id()));
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        for sub in ["work", "stage"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| Error::io("create", &dir, e))?;
        }
        Ok(Scratch {
            install: install.to_owned(),
            dir,
            created_install,
        })
    }

    fn work(&self) -> PathBuf {
        self.dir.join("work")
    }

    fn stage(&self) -> PathBuf {
        self.dir.join("stage")
    }

    /// Removes the scratch folder, and the install path if this run made it.
    fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.created_install {
            let _ = std::fs::remove_dir(&self.install);
        }
    }

    /// Empties the install path (all but the scratch folder, as dbt's
    /// rmtree) and moves the staged `names` into it.
    fn swap_in(self, names: &[String]) -> Result<()> {
        let entries =
            std::fs::read_dir(&self.install).map_err(|e| Error::io("read", &self.install, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path == self.dir {
                continue;
            }
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            let removed = if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| Error::io("remove", &path, e))?;
        }
        for name in names {
            rename(&self.stage().join(name), &self.install.join(name))?;
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io("remove", &self.dir, e))
    }
}

/// `--add-package name@version`: adds the entry to the packages file
/// (creating packages.yml when there is none), first removing entries
/// for the same package, as dbt's `DepsTask.add`. The file is rewritten
/// the way dbt's `yaml.dump` writes it (comments are lost, as with dbt).
///
/// Errors: [`ErrorKind::Usage`] without a version for hub or git;
/// malformed packages files; write errors.
fn add_package(root: &Path, spec: &str, source: AddSource, printer: &Printer) -> Result<()> {
    let (name, version) = match spec.split_once('@') {
        Some((n, v)) if !v.contains('@') => (n.to_owned(), Some(v.to_owned())),
        _ => (spec.to_owned(), None),
    };
    if version.is_none() && source != AddSource::Local {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("`--add-package {spec}` has no version"),
        )
        .with_hint("give one as `--add-package dbt-labs/dbt_utils@1.3.0` (only `--source local` needs none)"));
    }
    // dependencies.yml when it holds the packages, else packages.yml.
    let deps = root.join("dependencies.yml");
    let deps_has = std::fs::read_to_string(&deps)
        .ok()
        .and_then(|t| serde_yaml::from_str::<Value>(&t).ok())
        .is_some_and(|v| v.get("packages").is_some());
    let file = if deps_has {
        deps
    } else {
        root.join("packages.yml")
    };
    let rel = PathBuf::from(file.file_name().unwrap_or_default());
    if !file.exists() {
        std::fs::write(&file, "packages: []\n").map_err(|e| Error::io("write", &file, e))?;
        printer.line("Created packages.yml");
    }
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
    let mut doc: Value = crate::project::yaml::parse(&rel, &text)?;
    if doc.is_null() {
        doc = Value::Mapping(Mapping::new());
    }
    let Some(map) = doc.as_mapping_mut() else {
        return Err(Error::new(
            ErrorKind::Config,
            format!("`{}` is not a mapping", rel.display()),
        )
        .with_hint("it should start with `packages:`"));
    };
    let list = map
        .entry(Value::from("packages"))
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if list.is_null() {
        *list = Value::Sequence(Vec::new());
    }
    let Some(items) = list.as_sequence_mut() else {
        return Err(Error::new(
            ErrorKind::Config,
            format!("`packages` in `{}` is not a list", rel.display()),
        )
        .with_hint("list one entry a line, as `  - package: dbt-labs/dbt_utils`"));
    };
    items.retain(|entry| {
        let duplicate = is_same_package(&name, entry);
        if duplicate {
            printer.line(&format!(
                "Found duplicate package in packages.yml, removing: {}",
                pyyaml::json_dumps(&serde_json::to_value(entry).unwrap_or(Json::Null))
            ));
        }
        !duplicate
    });
    let mut entry = Mapping::new();
    let (key, version_key) = match source {
        AddSource::Hub => ("package", "version"),
        AddSource::Git => ("git", "revision"),
        AddSource::Local => ("local", "version"),
    };
    entry.insert(Value::from(key), Value::from(name.as_str()));
    // dbt would write `version:` on a local entry too, which its own parser
    // then rejects; a local package has no version.
    let version_value = version
        .as_deref()
        .filter(|v| !v.is_empty() && source != AddSource::Local);
    if let Some(v) = version_value {
        let value = if v.contains(',') {
            Value::Sequence(v.split(',').map(Value::from).collect())
        } else {
            Value::from(v)
        };
        entry.insert(Value::from(version_key), value);
    }
    items.push(Value::Mapping(entry));
    std::fs::write(&file, pyyaml::dump(&doc)).map_err(|e| Error::io("write", &file, e))?;
    printer.line(&format!(
        "Added new package {name}@{} to {}",
        version.as_deref().unwrap_or("None"),
        file.display()
    ));
    Ok(())
}

/// Whether `entry` of the packages file is the package `name` added by
/// `--add-package`, by dbt's loose rule: any of the name's `_`/`-` and
/// with/without-org spellings appears in the entry's source value between
/// word boundaries (start, end, `/`, `.`).
fn is_same_package(name: &str, entry: &Value) -> bool {
    let Some(id) = ["package", "git", "local", "tarball", "private"]
        .iter()
        .find_map(|k| entry.get(*k).and_then(Value::as_str))
    else {
        return false;
    };
    let mut variants = vec![
        name.to_owned(),
        name.replace('_', "-"),
        name.replace('-', "_"),
    ];
    if let Some((_, short)) = name.rsplit_once('/') {
        variants.extend([
            short.to_owned(),
            short.replace('_', "-"),
            short.replace('-', "_"),
        ]);
    }
    variants.iter().filter(|v| !v.is_empty()).any(|v| {
        id.find(v.as_str()).is_some_and(|at| {
            let before = id[..at].chars().next_back();
            let after = id[at + v.len()..].chars().next();
            before.is_none_or(|c| c == '/' || c == '.')
                && after.is_none_or(|c| c == '/' || c == '.')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_package_matches_duplicates_as_dbt() {
        let hub = |p: &str| serde_yaml::from_str::<Value>(&format!("package: {p}")).unwrap();
        let git = |u: &str| serde_yaml::from_str::<Value>(&format!("git: {u}")).unwrap();
        assert!(is_same_package(
            "dbt-labs/dbt_utils",
            &hub("dbt-labs/dbt_utils")
        ));
        assert!(is_same_package(
            "dbt-labs/dbt_utils",
            &git("https://github.com/dbt-labs/dbt-utils.git")
        ));
        assert!(!is_same_package(
            "dbt-labs/dbt_utils",
            &hub("dbt-labs/dbt_utils_extra")
        ));
        assert!(!is_same_package(
            "dbt-labs/codegen",
            &hub("dbt-labs/dbt_utils")
        ));
    }
}
