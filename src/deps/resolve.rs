//! Resolving declared packages to pinned ones, as dbt's `deps/resolver.py`.
//!
//! Packages are keyed as dbt keys them (a hub package by `org/name`, a git
//! package by URL with and without `.git` plus its subdirectory, a tarball
//! by URL, a local package by path); a package required twice is merged
//! (hub version ranges intersected, git revisions required to agree).
//! Resolution goes round by round: each package of the round is merged
//! into the final list, pinned (hub: the highest installable version in
//! its range; git: the commit its revision points at) and its own
//! packages.yml (for hub packages, the Hub's copy of it) becomes the next
//! round, until a round brings nothing new. A pinned package whose
//! dependencies were already taken is not expanded again, so a cycle of
//! packages ends (dbt loops on one). The result keeps dbt's order: first
//! seen, first installed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::deps::hub::Hub;
use crate::deps::lock::LockEntry;
use crate::deps::{git, tarball};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::execute::output::Printer;
use crate::project::packages::{parse_packages_value, read_packages, DeclaredPackage, PackageSpec};
use crate::project::semver::{self, Spec};
use crate::project::DbtProject;

/// The dbt version sluice answers to for hub packages' `require_dbt_version`
/// (the version its artifacts claim).
const DBT_VERSION: &str = crate::project::installed::DBT_VERSION_COMPAT;

/// Everything resolution needs, and what it fetched on the way (cached so
/// each repository and tarball is downloaded once a run).
pub struct Ctx<'a> {
    /// The root project's directory (absolute).
    pub root: &'a Path,
    /// The root project's name.
    pub root_name: &'a str,
    /// `--vars`, for rendering packages files.
    pub vars: &'a BTreeMap<String, Json>,
    /// The dbt Hub.
    pub hub: Hub,
    /// Scratch folder for clones and downloads (inside the install path).
    pub work: PathBuf,
    /// Where progress and warnings go.
    pub printer: &'a Printer,
    fetched: HashMap<String, Fetched>,
    warned: HashSet<String>,
    counter: usize,
}

/// A fetched git checkout or unpacked tarball.
#[derive(Debug, Clone)]
struct Fetched {
    /// The clone, or the unpacked tarball's package folder.
    dir: PathBuf,
    /// The commit checked out (git only).
    sha: Option<String>,
}

impl<'a> Ctx<'a> {
    /// A context for the project at `root` named `root_name`.
    pub fn new(
        root: &'a Path,
        root_name: &'a str,
        vars: &'a BTreeMap<String, Json>,
        hub: Hub,
        work: PathBuf,
        printer: &'a Printer,
    ) -> Ctx<'a> {
        Ctx {
            root,
            root_name,
            vars,
            hub,
            work,
            printer,
            fetched: HashMap::new(),
            warned: HashSet::new(),
            counter: 0,
        }
    }

    /// A fresh path in the scratch folder.
    pub fn scratch(&mut self, stem: &str) -> PathBuf {
        self.counter += 1;
        self.work.join(format!("{stem}-{}", self.counter))
    }
}

/// Where a pinned package comes from, with what installing it needs.
#[derive(Debug, Clone)]
pub enum Source {
    /// A dbt Hub package at an exact version.
    Hub {
        /// `org/name`.
        package: String,
        /// The version picked.
        version: String,
        /// The newest installable version (for "Updated version available").
        latest: Option<String>,
        /// `downloads.tarball` of that version.
        tarball_url: String,
    },
    /// A git (or private) package at a commit.
    Git {
        /// The URL cloned (rendered).
        url: String,
        /// The URL (or `private:` name) as written, for messages and the lock.
        shown: String,
        /// The commit sha.
        sha: String,
        /// The folder of the project inside the repository.
        subdirectory: Option<String>,
        /// `Some(provider)` for a `private:` package.
        private: Option<Option<String>>,
        /// The checkout (the subdirectory's parent clone).
        clone_dir: PathBuf,
    },
    /// A tarball download.
    Tarball {
        /// The URL as written.
        shown: String,
        /// The unpacked package folder.
        dir: PathBuf,
    },
    /// A folder of the filesystem.
    Local {
        /// As written in packages.yml.
        local: String,
        /// Resolved against the root project.
        abs: PathBuf,
    },
}

/// A package pinned to one version, with its project name (the folder it
/// is installed as) and its own declared packages.
#[derive(Debug, Clone)]
pub struct Pinned {
    /// Where it comes from.
    pub source: Source,
    /// Its project name (a tarball's `name:`), the install folder.
    pub name: String,
    /// Its own packages.yml (the Hub's copy for hub packages).
    pub packages: Vec<DeclaredPackage>,
}

impl Pinned {
    /// How dbt names the package in `Installing ...` lines.
    pub fn display_name(&self) -> String {
        match &self.source {
            Source::Hub { package, .. } => package.clone(),
            Source::Git {
                shown,
                subdirectory,
                ..
            } => match subdirectory {
                Some(s) => format!("{shown}/{s}"),
                None => shown.clone(),
            },
            Source::Tarball { .. } => self.name.clone(),
            Source::Local { local, .. } => local.clone(),
        }
    }

    /// dbt's `nice_version_name` (`version 1.3.0`, `revision <sha>`).
    pub fn nice_version(&self) -> String {
        match &self.source {
            Source::Hub { version, .. } => format!("version {version}"),
            Source::Git { sha, .. } => format!("revision {sha}"),
            Source::Tarball { shown, .. } => format!("tarball (url: {shown})"),
            Source::Local { local, .. } => format!("<local @ {local}>"),
        }
    }

    /// Who requires the packages this one declares, for messages.
    fn label(&self) -> String {
        match &self.source {
            Source::Hub {
                package, version, ..
            } => format!("`{package}@{version}`"),
            _ => format!("package `{}`", self.name),
        }
    }

    /// Identifies the pinned version, to expand each once.
    fn identity(&self) -> String {
        match &self.source {
            Source::Hub {
                package, version, ..
            } => format!("hub {package} {version}"),
            Source::Git {
                url,
                sha,
                subdirectory,
                ..
            } => format!("git {url} {sha} {subdirectory:?}"),
            Source::Tarball { shown, .. } => format!("tarball {shown}"),
            Source::Local { abs, .. } => format!("local {}", abs.display()),
        }
    }

    /// Its package-lock.yml entry.
    pub fn lock_entry(&self) -> LockEntry {
        let name = self.name.clone();
        match &self.source {
            Source::Hub {
                package, version, ..
            } => LockEntry::Hub {
                package: package.clone(),
                version: version.clone(),
                name,
            },
            Source::Git {
                shown,
                sha,
                subdirectory,
                private: None,
                ..
            } => LockEntry::Git {
                git: scrub_secrets(shown),
                revision: sha.clone(),
                subdirectory: subdirectory.clone(),
                name,
            },
            Source::Git {
                shown,
                sha,
                subdirectory,
                private: Some(provider),
                ..
            } => LockEntry::Private {
                private: shown.clone(),
                revision: sha.clone(),
                subdirectory: subdirectory.clone(),
                provider: provider.clone(),
                name,
            },
            Source::Tarball { shown, .. } => LockEntry::Tarball {
                tarball: scrub_secrets(shown),
                name,
            },
            Source::Local { local, .. } => LockEntry::Local {
                local: local.clone(),
                name,
            },
        }
    }
}

/// Replaces the values of `DBT_ENV_SECRET*` variables in `text` with
/// `*****`, as dbt scrubs what it writes to the lock.
fn scrub_secrets(text: &str) -> String {
    let mut out = text.to_owned();
    for (k, v) in std::env::vars() {
        if k.starts_with("DBT_ENV_SECRET") && !v.is_empty() {
            out = out.replace(&v, "*****");
        }
    }
    out
}

/// One requirement of a hub package: who asks, for which versions, where.
#[derive(Debug, Clone)]
struct Req {
    requirer: String,
    versions: Vec<String>,
    location: Option<Location>,
}

/// A package not yet pinned, as dbt's `*UnpinnedPackage`.
#[derive(Debug, Clone)]
enum Unpinned {
    Hub {
        package: String,
        reqs: Vec<Req>,
        install_prerelease: bool,
    },
    Git {
        url: String,
        shown: String,
        subdirectory: Option<String>,
        /// (requirer, revision)
        revisions: Vec<(String, String)>,
        warn_unpinned: bool,
        private: Option<Option<String>>,
    },
    Tarball {
        url: String,
        shown: String,
        name: String,
    },
    Local {
        local: String,
    },
}

impl Unpinned {
    /// The unpinned package of a declared entry, required by `requirer`.
    fn from_declared(d: &DeclaredPackage, requirer: &str) -> Result<Unpinned> {
        let raw = |k: &str| {
            d.unrendered
                .get(k)
                .and_then(serde_yaml::Value::as_str)
                .map(str::to_owned)
        };
        Ok(match &d.spec {
            PackageSpec::Hub {
                package,
                version,
                install_prerelease,
            } => Unpinned::Hub {
                package: package.clone(),
                reqs: vec![Req {
                    requirer: requirer.to_owned(),
                    versions: version.clone(),
                    location: d.location.clone(),
                }],
                install_prerelease: *install_prerelease,
            },
            PackageSpec::Git {
                git,
                revision,
                subdirectory,
                warn_unpinned,
            } => Unpinned::Git {
                url: git.clone(),
                shown: raw("git").unwrap_or_else(|| git.clone()),
                subdirectory: subdirectory.clone(),
                revisions: revision
                    .iter()
                    .map(|r| (requirer.to_owned(), r.clone()))
                    .collect(),
                warn_unpinned: *warn_unpinned,
                private: None,
            },
            PackageSpec::Private {
                private,
                revision,
                subdirectory,
                provider,
            } => Unpinned::Git {
                url: git::private_url(private, provider.as_deref())
                    .map_err(|e| e.or_location(|| d.location.clone()))?,
                shown: private.clone(),
                subdirectory: subdirectory.clone(),
                revisions: revision
                    .iter()
                    .map(|r| (requirer.to_owned(), r.clone()))
                    .collect(),
                // dbt's private packages warn like git ones unless told not to.
                warn_unpinned: d
                    .rendered
                    .get("warn-unpinned")
                    .and_then(serde_yaml::Value::as_bool)
                    != Some(false),
                private: Some(provider.clone()),
            },
            PackageSpec::Tarball { tarball, name } => Unpinned::Tarball {
                url: tarball.clone(),
                shown: raw("tarball").unwrap_or_else(|| tarball.clone()),
                name: name.clone(),
            },
            PackageSpec::Local { local } => Unpinned::Local {
                local: local.to_string_lossy().into_owned(),
            },
        })
    }

    fn kind(&self) -> &'static str {
        match self {
            Unpinned::Hub { .. } => "hub",
            Unpinned::Git { private: None, .. } => "git",
            Unpinned::Git { .. } => "private",
            Unpinned::Tarball { .. } => "tarball",
            Unpinned::Local { .. } => "local",
        }
    }

    /// dbt's `all_names`: the keys this package may be filed under.
    fn names(&self) -> Vec<String> {
        match self {
            Unpinned::Hub { package, .. } => vec![package.clone()],
            Unpinned::Git {
                url, subdirectory, ..
            } => {
                let other = match url.strip_suffix(".git") {
                    Some(s) => s.to_owned(),
                    None => format!("{url}.git"),
                };
                match subdirectory {
                    Some(s) => vec![format!("{url}/{s}"), format!("{other}/{s}")],
                    None => vec![url.clone(), other],
                }
            }
            Unpinned::Tarball { url, .. } => vec![url.clone()],
            Unpinned::Local { local } => vec![local.clone()],
        }
    }

    /// Merges a second requirement of the same package into this one.
    fn incorporate(&mut self, other: Unpinned) -> Result<()> {
        match (self, other) {
            (Unpinned::Hub { reqs, .. }, Unpinned::Hub { reqs: more, .. }) => reqs.extend(more),
            (
                Unpinned::Git {
                    revisions,
                    warn_unpinned,
                    private: Some(_),
                    ..
                },
                Unpinned::Git {
                    revisions: more,
                    warn_unpinned: w,
                    private: Some(_),
                    ..
                },
            )
            | (
                Unpinned::Git {
                    revisions,
                    warn_unpinned,
                    private: None,
                    ..
                },
                Unpinned::Git {
                    revisions: more,
                    warn_unpinned: w,
                    private: None,
                    ..
                },
            ) => {
                revisions.extend(more);
                *warn_unpinned = *warn_unpinned && w;
            }
            (Unpinned::Tarball { .. }, Unpinned::Tarball { .. })
            | (Unpinned::Local { .. }, Unpinned::Local { .. }) => {}
            (this, other) => {
                let name = this.names().first().cloned().unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "package `{name}` is required both as a `{}` package and as a `{}` package",
                        this.kind(),
                        other.kind()
                    ),
                )
                .with_hint("install it from one source: make the packages.yml entries agree"));
            }
        }
        Ok(())
    }

    /// Pins this package, fetching what its metadata needs.
    fn resolve(&self, ctx: &mut Ctx<'_>) -> Result<Pinned> {
        match self {
            Unpinned::Hub {
                package,
                reqs,
                install_prerelease,
            } => resolve_hub(ctx, package, reqs, *install_prerelease),
            Unpinned::Git {
                url,
                shown,
                subdirectory,
                revisions,
                warn_unpinned,
                private,
            } => {
                let mut distinct: Vec<&(String, String)> = Vec::new();
                for r in revisions {
                    if !distinct.iter().any(|d| d.1 == r.1) {
                        distinct.push(r);
                    }
                }
                let revision = match distinct.as_slice() {
                    [] => "HEAD".to_owned(),
                    [one] => one.1.clone(),
                    [a, b, ..] => {
                        return Err(Error::new(
                            ErrorKind::Config,
                            format!(
                                "git package `{shown}` is required at two revisions: `{}` by {} and `{}` by {}",
                                a.1, a.0, b.1, b.0
                            ),
                        )
                        .with_hint("a git package is installed at one revision (as dbt): make the `revision:` entries agree"))
                    }
                };
                if *warn_unpinned
                    && matches!(revision.as_str(), "HEAD" | "main" | "master")
                    && ctx.warned.insert(shown.clone())
                {
                    let how = if revision == "HEAD" {
                        "is not pinned, using HEAD (default branch)".to_owned()
                    } else {
                        format!("is pinned to the `{revision}` branch")
                    };
                    ctx.printer.line(&format!(
                        "[WARNING]: The git package `{shown}` {how}. This can introduce breaking changes into your project without warning! Pin a tag or commit as `revision:`, or set `warn-unpinned: false`"
                    ));
                }
                let key = format!("git {url} {subdirectory:?} {revision}");
                let fetched = match ctx.fetched.get(&key) {
                    Some(f) => f.clone(),
                    None => {
                        let dest = ctx.scratch("git");
                        let sha = git::clone_and_checkout(
                            url,
                            shown,
                            &revision,
                            subdirectory.as_deref(),
                            &dest,
                            shown,
                        )?;
                        let f = Fetched {
                            dir: dest,
                            sha: Some(sha),
                        };
                        ctx.fetched.insert(key, f.clone());
                        f
                    }
                };
                let project_dir = match subdirectory {
                    Some(s) => fetched.dir.join(s),
                    None => fetched.dir.clone(),
                };
                let (name, packages) = read_metadata(ctx, &project_dir, shown)?;
                Ok(Pinned {
                    source: Source::Git {
                        url: url.clone(),
                        shown: shown.clone(),
                        sha: fetched.sha.unwrap_or_default(),
                        subdirectory: subdirectory.clone(),
                        private: private.clone(),
                        clone_dir: fetched.dir,
                    },
                    name,
                    packages,
                })
            }
            Unpinned::Tarball { url, shown, name } => {
                let key = format!("tarball {url}");
                let dir = match ctx.fetched.get(&key) {
                    Some(f) => f.dir.clone(),
                    None => {
                        let file = ctx.scratch("tarball").with_extension("tar.gz");
                        ctx.hub.http().download(url, name, &file)?;
                        let into = ctx.scratch("tarball");
                        let dir = tarball::unpack(&file, &into, shown, name)?;
                        ctx.fetched.insert(
                            key,
                            Fetched {
                                dir: dir.clone(),
                                sha: None,
                            },
                        );
                        dir
                    }
                };
                let (_, packages) = read_metadata(ctx, &dir, name)?;
                Ok(Pinned {
                    source: Source::Tarball {
                        shown: shown.clone(),
                        dir,
                    },
                    name: name.clone(),
                    packages,
                })
            }
            Unpinned::Local { local } => {
                // As dbt, relative to the root project, whoever declares it.
                let abs = ctx.root.join(local);
                let (name, packages) = read_metadata(ctx, &abs, local)?;
                Ok(Pinned {
                    source: Source::Local {
                        local: local.clone(),
                        abs,
                    },
                    name,
                    packages,
                })
            }
        }
    }
}

/// The project name and declared packages of a package folder.
fn read_metadata(ctx: &Ctx<'_>, dir: &Path, what: &str) -> Result<(String, Vec<DeclaredPackage>)> {
    let file = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        Error::new(
            ErrorKind::MissingFile,
            format!("package `{what}` has no dbt_project.yml ({e})"),
        )
        .with_hint("a dbt package is a dbt project: check the URL, path or `subdirectory:`")
    })?;
    let label = PathBuf::from(format!("{what}/dbt_project.yml"));
    let config = DbtProject::parse(&label, &text)?;
    let packages = read_packages(dir, &|s: &str| {
        crate::render::render_config_string(s, ctx.vars)
    })?
    .map(|f| f.packages)
    .unwrap_or_default();
    Ok((config.name, packages))
}

/// Pins a hub package: the Hub lists it, its requirements reduce to one
/// range, and the highest installable version in that range is taken.
fn resolve_hub(
    ctx: &mut Ctx<'_>,
    package: &str,
    reqs: &[Req],
    install_prerelease: bool,
) -> Result<Pinned> {
    // Parse every specifier, pointing at the entry that holds a bad one.
    let mut parsed: Vec<(usize, Spec)> = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        for v in &r.versions {
            let spec = Spec::parse(v).map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("version `{v}` of hub package `{package}` (required by {}) is not valid: {e}", r.requirer),
                )
                .with_hint("write a semantic version or range, as `1.3.0`, `>=1.0.0` or `[\">=1.0.0\", \"<2.0.0\"]`")
                .or_location(|| r.location.clone())
            })?;
            parsed.push((i, spec));
        }
    }
    if !ctx.hub.contains(package)? {
        let at = reqs.first().and_then(|r| r.location.clone());
        return Err(Error::new(
            ErrorKind::Config,
            format!("package `{package}` was not found in the package index"),
        )
        .with_hint("check the `org/name` spelling against the dbt Hub (hub.getdbt.com)")
        .or_location(|| at));
    }
    let specs: Vec<Spec> = parsed.iter().map(|(_, s)| s.clone()).collect();
    let range = match semver::reduce(&specs) {
        Ok(r) => r,
        Err(_) => return Err(conflict(package, reqs, &parsed)),
    };
    let versions = ctx.hub.versions(package)?.clone();
    let compatible: Vec<String> = versions
        .iter()
        .filter(|(_, meta)| dbt_compatible(meta))
        .map(|(v, _)| v.clone())
        .collect();
    let prerelease_asked = specs.iter().any(|s| s.prerelease.is_some());
    let installable =
        semver::filter_installable(&compatible, install_prerelease || prerelease_asked);
    let Some(target) = semver::resolve_to_specific_version(&range, &installable).map(str::to_owned)
    else {
        let asked: Vec<String> = reqs
            .iter()
            .map(|r| format!("{} requires `{}`", r.requirer, r.versions.join(", ")))
            .collect();
        let at = reqs.first().and_then(|r| r.location.clone());
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "no version of package `{package}` matches `{range}` ({})",
                asked.join("; ")
            ),
        )
        .with_hint(format!(
            "versions available: {}",
            if installable.is_empty() {
                "none".to_owned()
            } else {
                installable.join(", ")
            }
        ))
        .or_location(|| at));
    };
    let meta = versions.get(&target).cloned().unwrap_or(Json::Null);
    let name = meta
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or(package)
        .to_owned();
    let tarball_url = meta
        .pointer("/downloads/tarball")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    let deps = serde_yaml::to_value(serde_json::json!({
        "packages": meta.get("packages").cloned().unwrap_or(Json::Array(Vec::new()))
    }))
    .unwrap_or(serde_yaml::Value::Null);
    let label = PathBuf::from(format!("{package}@{target} (dbt Hub)"));
    let packages = parse_packages_value(&label, &deps, &|s: &str| {
        crate::render::render_config_string(s, ctx.vars)
    })?;
    Ok(Pinned {
        source: Source::Hub {
            package: package.to_owned(),
            version: target,
            latest: installable.last().cloned(),
            tarball_url,
        },
        name,
        packages,
    })
}

/// Whether a hub version's `require_dbt_version` admits the dbt version
/// sluice follows, as dbt's `is_compatible_version`.
fn dbt_compatible(meta: &Json) -> bool {
    let ranges: Vec<String> = match meta.get("require_dbt_version") {
        None | Some(Json::Null) => return true,
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => return true,
    };
    semver::admits(&ranges, DBT_VERSION)
}

/// The error for ranges no version satisfies: names the two requirements
/// that clash (or, failing a pair, all of them) and their ranges.
fn conflict(package: &str, reqs: &[Req], parsed: &[(usize, Spec)]) -> Error {
    let specs_of = |i: usize| -> Vec<Spec> {
        parsed
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, s)| s.clone())
            .collect()
    };
    let describe = |r: &Req| format!("{} requires `{}`", r.requirer, r.versions.join(", "));
    let mut pair = None;
    'outer: for j in 0..reqs.len() {
        for i in 0..j {
            let mut both = specs_of(i);
            both.extend(specs_of(j));
            if semver::reduce(&both).is_err() {
                pair = Some((i, j));
                break 'outer;
            }
        }
    }
    let (message, at) = match pair {
        Some((i, j)) => (
            format!(
                "no version of package `{package}` satisfies both requirements: {} but {}",
                describe(&reqs[i]),
                describe(&reqs[j])
            ),
            reqs[i].location.clone().or(reqs[j].location.clone()),
        ),
        None => (
            format!(
                "no version of package `{package}` satisfies all requirements: {}",
                reqs.iter().map(describe).collect::<Vec<_>>().join("; ")
            ),
            reqs.iter().find_map(|r| r.location.clone()),
        ),
    };
    Error::new(ErrorKind::Config, message)
        .with_hint("widen one of the ranges so they overlap (or upgrade the package that needs the older one)")
        .or_location(|| at)
}

/// Packages in dbt's listing order, keyed as dbt keys them.
#[derive(Default)]
struct Listing {
    items: Vec<(String, Unpinned)>,
}

impl Listing {
    fn pick_key(&self, pkg: &Unpinned) -> String {
        let names = pkg.names();
        names
            .iter()
            .find(|n| self.items.iter().any(|(k, _)| k == *n))
            .or(names.first())
            .cloned()
            .unwrap_or_default()
    }

    /// Adds `pkg` (merged into an entry for the same package) and returns its key.
    fn incorporate(&mut self, pkg: Unpinned) -> Result<String> {
        let key = self.pick_key(&pkg);
        match self.items.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => existing.incorporate(pkg)?,
            None => self.items.push((key.clone(), pkg)),
        }
        Ok(key)
    }

    fn get(&self, key: &str) -> Option<&Unpinned> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, p)| p)
    }
}

/// Resolves the root project's `declared` packages and their dependencies
/// to pinned packages, in install order (dbt's `resolve_packages`).
///
/// Errors: version conflicts naming both requirers, unknown hub packages,
/// git revision disagreements, fetch failures (one error naming the
/// package and URL), two packages with the same project name or one named
/// as the root project.
pub fn resolve(
    ctx: &mut Ctx<'_>,
    declared: &[DeclaredPackage],
    file: &Path,
) -> Result<Vec<Pinned>> {
    let root_label = format!("`{}` ({})", ctx.root_name, file.display());
    let mut pending = Listing::default();
    for d in declared {
        pending.incorporate(Unpinned::from_declared(d, &root_label)?)?;
    }
    let mut fin = Listing::default();
    let mut expanded = HashSet::new();
    while !pending.items.is_empty() {
        let mut next = Listing::default();
        for (_, pkg) in std::mem::take(&mut pending.items) {
            let key = fin.incorporate(pkg)?;
            let Some(merged) = fin.get(&key).cloned() else {
                continue;
            };
            let pinned = merged.resolve(ctx)?;
            if !expanded.insert(pinned.identity()) {
                continue;
            }
            let label = pinned.label();
            for dep in &pinned.packages {
                next.incorporate(Unpinned::from_declared(dep, &label)?)?;
            }
        }
        pending = next;
    }
    let mut out = Vec::new();
    for (_, pkg) in &fin.items {
        out.push(pkg.resolve(ctx)?);
    }
    check_names(ctx.root_name, &out)?;
    Ok(out)
}

/// Pins the entries of package-lock.yml as they stand, no dependencies
/// followed (dbt's `resolve_lock_packages`).
///
/// Errors: as [`resolve`], for the lock's entries.
pub fn resolve_lock(ctx: &mut Ctx<'_>, locked: &[DeclaredPackage]) -> Result<Vec<Pinned>> {
    let mut listing = Listing::default();
    for d in locked {
        listing.incorporate(Unpinned::from_declared(d, "`package-lock.yml`")?)?;
    }
    let mut out = Vec::new();
    for (_, pkg) in &listing.items {
        out.push(pkg.resolve(ctx)?);
    }
    check_names(ctx.root_name, &out)?;
    Ok(out)
}

/// dbt's `_check_for_duplicate_project_names`.
fn check_names(root_name: &str, pinned: &[Pinned]) -> Result<()> {
    let mut seen: HashMap<&str, &Pinned> = HashMap::new();
    for p in pinned {
        if p.name == root_name {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "package `{}` has the same project name as the root project, `{root_name}`",
                    p.display_name()
                ),
            )
            .with_hint("package names must be unique in a project: rename the root project or drop the package"));
        }
        if let Some(first) = seen.insert(p.name.as_str(), p) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "packages `{}` and `{}` are both named `{}`",
                    first.display_name(),
                    p.display_name(),
                    p.name
                ),
            )
            .with_hint("two packages cannot install into the same folder: keep one of them"));
        }
    }
    Ok(())
}
