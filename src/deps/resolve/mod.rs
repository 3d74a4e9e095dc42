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
//!
//! The context is in `ctx`, pinned packages in `pinned`, packages not yet
//! pinned in `unpinned`, and the hub's version resolution in
//! `hub_versions`; this module holds the rounds.

mod ctx;
mod hub_versions;
mod pinned;
mod unpinned;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::deps::resolve::unpinned::Unpinned;
use crate::error::{Error, ErrorKind, Result};
use crate::project::packages::DeclaredPackage;

pub use crate::deps::resolve::ctx::Ctx;
pub use crate::deps::resolve::pinned::{Pinned, Source};

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
