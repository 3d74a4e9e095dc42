//! Pinning a hub package: its requirements' version ranges reduced to one,
//! the highest installable version the Hub lists in it (among those whose
//! `require_dbt_version` admits sluice), or an error naming the clash.

use std::path::PathBuf;

use serde_json::Value as Json;

use crate::deps::resolve::ctx::Ctx;
use crate::deps::resolve::pinned::{Pinned, Source};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::project::packages::parse_packages_value;
use crate::project::semver::{self, Spec};

/// The dbt version sluice answers to for hub packages' `require_dbt_version`
/// (the version its artifacts claim).
const DBT_VERSION: &str = crate::project::installed::DBT_VERSION_COMPAT;

/// One requirement of a hub package: who asks, for which versions, where.
#[derive(Debug, Clone)]
pub(super) struct Req {
    pub(super) requirer: String,
    pub(super) versions: Vec<String>,
    pub(super) location: Option<Location>,
}

/// Pins a hub package: the Hub lists it, its requirements reduce to one
/// range, and the highest installable version in that range is taken.
pub(super) fn resolve_hub(
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
