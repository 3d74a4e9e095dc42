//! `deps`, as `dbt deps` (see [`crate::deps`]).

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::commands::invocation::Outcome;
use crate::error::Result;

/// `sluice deps`: installs the packages of packages.yml, as `dbt deps`
/// (see [`crate::deps`]).
///
/// Errors: those of [`crate::deps::run`].
pub fn deps(
    g: &GlobalArgs,
    upgrade: bool,
    lock: bool,
    add_package: Option<&str>,
    source: crate::cli::DepsSource,
) -> Result<Outcome> {
    crate::deps::run(&crate::deps::DepsOptions {
        project_dir: g.project_dir.clone().unwrap_or_else(|| PathBuf::from(".")),
        vars: g.vars.clone(),
        upgrade,
        lock,
        add_package: add_package.map(str::to_owned),
        source: match source {
            crate::cli::DepsSource::Hub => crate::deps::AddSource::Hub,
            crate::cli::DepsSource::Git => crate::deps::AddSource::Git,
            crate::cli::DepsSource::Local => crate::deps::AddSource::Local,
        },
        quiet: g.quiet,
    })?;
    Ok(Outcome::Success)
}
