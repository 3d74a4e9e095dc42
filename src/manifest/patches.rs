//! Schema YAML patches: a node's description, columns, config and docs
//! from the `models:`/`seeds:`/`snapshots:` entries that name it, keyed by
//! package, as dbt's patch parser applies them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::Value;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::node::{slash, Node};
use crate::project::config::{config_from_yaml_map, yaml_to_json, Config};
use crate::project::schema_yaml::{locate_entries, NodePatch};
use crate::project::Project;
use crate::render::{NodeScope, NodeVars, Phase, Renderer, Resolver};

/// Renders descriptions that use Jinja (`{{ doc('x') }}`), as dbt does.
pub(crate) fn render_descriptions(
    renderer: &Renderer,
    resolver: &Arc<Resolver>,
    root: &Path,
    node: &mut Node,
) -> Result<()> {
    let needs = |d: &str| d.contains("{{") || d.contains("{%");
    if !needs(&node.description) && !node.columns.iter().any(|c| needs(&c.description)) {
        return Ok(());
    }
    let file = slash(node.patch_path.as_ref().unwrap_or(&node.original_file_path));
    let scope = Arc::new(NodeScope::new(
        Phase::Parse,
        &node.unique_id,
        node.config.clone(),
        resolver.clone(),
    ));
    let vars = NodeVars {
        this: node.relation.clone(),
        model: Value::from(()),
        test_kwargs: None,
    };
    let render = |text: &str| -> Result<String> {
        if needs(text) {
            renderer
                .render(&format!("<description in {file}>"), text, &scope, &vars)
                .map_err(|e| {
                    // Point at the description in the YAML file (read again only on error).
                    let yml = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
                    let at = yml
                        .find(text.trim())
                        .map(|o| Location::from_offset(Path::new(&file), &yml, o));
                    e.or_location(|| at)
                        .with_note(format!("in a description in `{file}`"))
                })
        } else {
            Ok(text.to_owned())
        }
    };
    node.description = render(&node.description)?;
    for col in &mut node.columns {
        col.description = render(&col.description)?;
    }
    Ok(())
}

/// YAML patches by `(package, node name)`: `(yml path, patch)`. A package's
/// YAML describes the package's nodes only, so a root model and a package
/// model of the same name (one of them disabled) never clash, as in dbt.
#[derive(Default)]
pub(crate) struct Patches {
    /// `models:` entries by (package, name), with their file.
    pub(crate) models: HashMap<(String, String), (PathBuf, NodePatch)>,
    /// `seeds:` entries.
    pub(crate) seeds: HashMap<(String, String), (PathBuf, NodePatch)>,
    /// `analyses:` entries.
    pub(crate) analyses: HashMap<(String, String), (PathBuf, NodePatch)>,
    /// `snapshots:` entries.
    pub(crate) snapshots: HashMap<(String, String), (PathBuf, NodePatch)>,
    /// Versioned models' versions by (package, file stem they are
    /// defined in): the name of each version's entry in `models`.
    pub(crate) versions: HashMap<(String, String), String>,
}

/// The package whose folder holds `yml` (a path relative to the root project).
pub(crate) fn package_of<'a>(project: &'a Project, yml: &Path) -> &'a str {
    project
        .packages
        .iter()
        .find(|p| yml.starts_with(&p.dir))
        .map_or(project.name(), |p| p.name.as_str())
}

pub(crate) fn collect_patches(project: &Project) -> Result<Patches> {
    let mut patches = Patches::default();
    for (yml, file) in &project.schema_files {
        let pkg = package_of(project, yml);
        for (list, map, kind) in [
            (&file.models, &mut patches.models, "model"),
            (&file.seeds, &mut patches.seeds, "seed"),
            (&file.analyses, &mut patches.analyses, "analysis"),
            (&file.snapshots, &mut patches.snapshots, "snapshot"),
        ] {
            for patch in list {
                let key = (pkg.to_owned(), patch.name.clone());
                if let Some((prev, _)) = map.get(&key) {
                    return Err(Error::new(
                        ErrorKind::DuplicateNode,
                        format!(
                            "{kind} `{}` is described twice: in `{}` and `{}`",
                            patch.name,
                            slash(prev),
                            slash(yml)
                        ),
                    )
                    .with_hint("keep one YAML entry per node")
                    .or_location(|| {
                        let text = std::fs::read_to_string(project.root.join(yml)).ok()?;
                        let entries = locate_entries(yml, &text, &patch.name);
                        let second = usize::from(prev == yml);
                        entries.into_iter().nth(second)
                    }));
                }
                if let Some(v) = &patch.version {
                    patches
                        .versions
                        .insert((pkg.to_owned(), v.defined_in.clone()), patch.name.clone());
                }
                map.insert(key, (yml.clone(), patch.clone()));
            }
        }
    }
    Ok(patches)
}

pub(crate) fn apply_patch_config(config: &mut Config, patch: Option<&(PathBuf, NodePatch)>) {
    let Some((_, patch)) = patch else { return };
    let mut layer = config_from_yaml_map(&patch.config);
    if patch.meta.is_mapping() {
        layer.set("meta", yaml_to_json(&patch.meta));
    }
    for (key, value) in [("access", &patch.access), ("group", &patch.group)] {
        if let Some(v) = value {
            if layer.get(key).is_none() {
                layer.set(key, serde_json::Value::from(v.clone()));
            }
        }
    }
    if patch.docs.is_mapping() {
        layer.set("docs", yaml_to_json(&patch.docs));
    }
    config.merge(&layer);
}
