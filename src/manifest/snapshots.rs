//! Snapshot nodes: each `{% snapshot %}` block of snapshot-paths.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::naming::node_fqn;
use crate::manifest::node::{sha256, slash, Node, ResourceType};
use crate::manifest::patches::{apply_patch_config, Patches};
use crate::project::config::{Config, ConfigTree};
use crate::project::Project;

/// Snapshot nodes: `{% snapshot name %}...{% endsnapshot %}` blocks of the
/// snapshot files (the block's body is the node's template, padded so line
/// numbers match the file), and dbt 1.9 YAML `snapshots:` entries with a
/// `relation:` (`select * from {{ relation }}`). Config: the `snapshots:`
/// tree of dbt_project.yml, then the YAML entry's `config:`, then the
/// block's own `config(...)` (applied when it is parsed).
///
/// Errors: [`ErrorKind::Jinja`] (located) for an unclosed block.
pub(crate) fn snapshot_nodes(
    project: &Project,
    patches: &Patches,
    tree: &ConfigTree,
    pkg: &str,
) -> Result<Vec<Node>> {
    static BLOCK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?s)\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}")
            .expect("valid regex")
    });
    let mut out = Vec::new();
    let mut make = |name: String, file: &Path, fqn: Vec<String>, path: PathBuf, raw: String| {
        let mut config = Config::default();
        config.set("materialized", Json::from("snapshot"));
        config.merge(&tree.resolve(&fqn));
        let patch = patches
            .snapshots
            .get(&(project.name().to_owned(), name.clone()));
        apply_patch_config(&mut config, patch);
        out.push(Node {
            path,
            original_file_path: file.to_path_buf(),
            fqn,
            checksum: sha256(&raw),
            raw_code: raw,
            config,
            description: patch.map(|p| p.1.description.clone()).unwrap_or_default(),
            columns: patch.map(|p| p.1.columns.clone()).unwrap_or_default(),
            patch_path: patch.map(|p| p.0.clone()),
            ..Node::blank(
                format!("snapshot.{pkg}.{name}"),
                name,
                ResourceType::Snapshot,
                pkg,
            )
        });
    };
    for file in &project.snapshots {
        let text = &file.text;
        let mut found = 0;
        for cap in BLOCK.captures_iter(text) {
            found += 1;
            let body = cap.get(2).expect("group");
            let before = &text[..body.start()];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let mut raw = "\n".repeat(before.matches('\n').count());
            raw.push_str(&" ".repeat(text[line_start..body.start()].chars().count()));
            raw.push_str(body.as_str());
            let (path, mut fqn) = node_fqn(pkg, &file.path, &project.config.snapshot_paths);
            fqn.push(cap[1].to_owned());
            make(cap[1].to_owned(), &file.path, fqn, path, raw);
        }
        static OPEN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"\{%-?\s*snapshot\s").expect("valid regex")
        });
        let opens: Vec<usize> = OPEN.find_iter(text).map(|m| m.start()).collect();
        if opens.len() > found {
            let at = opens[found];
            return Err(Error::new(
                ErrorKind::Jinja,
                format!(
                    "`{}` has a `{{% snapshot %}}` block that is never closed",
                    slash(&file.path)
                ),
            )
            .with_location(Location::from_offset(&file.path, text, at))
            .with_hint("end it with `{% endsnapshot %}`"));
        }
    }
    for ((_, name), (yml, patch)) in &patches.snapshots {
        let Some(relation) = &patch.relation else {
            continue;
        };
        let (path, mut fqn) = node_fqn(pkg, yml, &project.config.snapshot_paths);
        fqn.pop();
        fqn.push(name.clone());
        make(
            name.clone(),
            yml,
            fqn,
            path,
            format!("select * from {{{{ {relation} }}}}"),
        );
    }
    Ok(out)
}
