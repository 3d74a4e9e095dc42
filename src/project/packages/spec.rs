//! What a packages file declares, typed: [`PackageSpec`] (one package and
//! its source), [`DeclaredPackage`] (an entry with what `sluice deps`
//! needs beside it) and [`PackagesFile`] (the file's entries).

use std::path::PathBuf;

use serde_yaml::Mapping;

use crate::error::Location;

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
