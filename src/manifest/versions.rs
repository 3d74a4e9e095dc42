//! Model versions once the nodes exist (dbt 1.5): every version listed in
//! YAML must have its model file, and `deprecation_date` warns, as dbt's
//! `DeprecatedModel` and `DeprecatedReference` events: once for a
//! deprecated version, and once for each node that refs one.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::node::{Node, ResourceType};
use crate::manifest::patches::Patches;

/// Checks that each version of each versioned model in `patches` has a
/// model among `nodes` (its `defined_in` file).
///
/// Errors: [`ErrorKind::MissingFile`] at the model's YAML entry, naming
/// the file it looked for.
pub(crate) fn check_version_files(root: &Path, patches: &Patches, nodes: &[Node]) -> Result<()> {
    let mut missing: Vec<(&String, &std::path::PathBuf)> = patches
        .versions
        .iter()
        .filter(|(_, name)| {
            !nodes
                .iter()
                .any(|n| &n.name == *name && n.version.is_some())
        })
        .map(|((pkg, stem), name)| (stem, &patches.models[&(pkg.clone(), name.clone())].0))
        .collect();
    missing.sort();
    let Some((stem, yml)) = missing.first() else {
        return Ok(());
    };
    let entry = patches
        .models
        .values()
        .find(|(_, p)| p.version.as_ref().is_some_and(|v| &v.defined_in == *stem))
        .map(|(_, p)| p);
    let (base, v) = entry
        .and_then(|p| p.version.as_ref())
        .map(|v| (v.base.as_str(), v.v.as_str()))
        .unwrap_or_default();
    let mut err = Error::new(
        ErrorKind::MissingFile,
        format!("version {v} of model `{base}` is defined in `{stem}`, and there is no model file `{stem}.sql`"),
    )
    .with_hint(format!(
        "create `{stem}.sql` under the model paths, or set `defined_in:` to the file the version is in"
    ));
    if let Ok(text) = std::fs::read_to_string(root.join(yml)) {
        if let Some(loc) = crate::project::schema_yaml::locate_entries(yml, &text, base)
            .into_iter()
            .next()
        {
            err = err.with_location(loc);
        }
    }
    Err(err)
}

/// The `deprecation_date` warnings of `nodes` on `today`: one for each
/// model version past its date (at its YAML entry), one for each node
/// that refs such a version (at the ref in its file).
pub(crate) fn deprecation_warnings(root: &Path, nodes: &[Node], today: NaiveDate) -> Vec<Error> {
    let date =
        |text: &str| NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok();
    let deprecated: HashMap<&str, (&Node, NaiveDate)> = nodes
        .iter()
        .filter_map(|n| {
            let v = n.version.as_ref()?;
            let when = date(v.deprecation_date.as_deref()?)?;
            (when <= today).then_some((n.unique_id.as_str(), (n, when)))
        })
        .collect();
    let mut out = Vec::new();
    let mut sorted: Vec<_> = deprecated.values().collect();
    sorted.sort_by(|a, b| a.0.unique_id.cmp(&b.0.unique_id));
    for (node, when) in sorted {
        let v = node.version.as_ref().expect("versioned");
        let mut w = Error::new(
            ErrorKind::Config,
            format!(
                "model `{}` version {} is deprecated: its deprecation_date {when} has passed",
                v.base, v.v
            ),
        )
        .with_hint(format!(
            "move its users to version {} and remove this version",
            v.latest
        ));
        if let Some(loc) = node.yaml_location(root, None, None) {
            w = w.with_location(loc);
        }
        out.push(w);
    }
    for node in nodes
        .iter()
        .filter(|n| n.resource_type == ResourceType::Model)
    {
        for dep in &node.depends_on {
            let Some((target, when)) = deprecated.get(dep.as_str()) else {
                continue;
            };
            let v = target.version.as_ref().expect("versioned");
            let mut w = Error::new(
                ErrorKind::Config,
                format!(
                    "model `{}` refers to version {} of `{}`, deprecated since {when}",
                    node.name, v.v, v.base
                ),
            )
            .with_hint(format!(
                "ref the latest version instead: ref('{}') or ref('{}', v={})",
                v.base, v.base, v.latest
            ));
            if let Some(offset) = node.raw_code.find(&format!("'{}'", v.base)) {
                w = w.with_location(Location::from_offset(
                    &node.original_file_path,
                    &node.raw_code,
                    offset,
                ));
            }
            out.push(w);
        }
    }
    out
}
