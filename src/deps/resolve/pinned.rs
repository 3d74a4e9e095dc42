//! [`Pinned`]: a package resolved to one version, where it comes from
//! ([`Source`]), how dbt names it, and its package-lock.yml entry.

use std::path::PathBuf;

use crate::deps::lock::LockEntry;
use crate::project::packages::DeclaredPackage;

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
    pub(super) fn label(&self) -> String {
        match &self.source {
            Source::Hub {
                package, version, ..
            } => format!("`{package}@{version}`"),
            _ => format!("package `{}`", self.name),
        }
    }

    /// Identifies the pinned version, to expand each once.
    pub(super) fn identity(&self) -> String {
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
