//! Packages not yet pinned, as dbt's `*UnpinnedPackage`: built from a
//! packages.yml entry, merged when required twice, and pinned (git
//! checkouts, tarball downloads and local folders read for their own
//! packages; hub packages through their versions).

use std::path::{Path, PathBuf};

use crate::deps::resolve::ctx::{Ctx, Fetched};
use crate::deps::resolve::hub_versions::{resolve_hub, Req};
use crate::deps::resolve::pinned::{Pinned, Source};
use crate::deps::{git, tarball};
use crate::error::{Error, ErrorKind, Result};
use crate::project::packages::{read_packages, DeclaredPackage, PackageSpec};
use crate::project::DbtProject;

/// A package not yet pinned, as dbt's `*UnpinnedPackage`.
#[derive(Debug, Clone)]
pub(super) enum Unpinned {
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
    pub(super) fn from_declared(d: &DeclaredPackage, requirer: &str) -> Result<Unpinned> {
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
    pub(super) fn names(&self) -> Vec<String> {
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
    pub(super) fn incorporate(&mut self, other: Unpinned) -> Result<()> {
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
    pub(super) fn resolve(&self, ctx: &mut Ctx<'_>) -> Result<Pinned> {
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
