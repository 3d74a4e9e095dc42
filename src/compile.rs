//! dbt's compile phase: each selected model, test and analysis is rendered
//! again with `execute` true and every ref resolved, in parallel, and
//! written to `target/compiled/<project>/<path>`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::data_tests;
use crate::error::{Error, Result};
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::render::{NodeScope, Phase, Renderer, Resolver};

/// A node's compiled SQL and where it was written.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The SQL that runs.
    pub code: String,
    /// Path of the written file, relative to the project root.
    pub path: PathBuf,
}

/// Where a node's compiled SQL goes, relative to the project root:
/// `<target-path>/compiled/<project>/<original path>`, and for generic tests
/// `<target-path>/compiled/<project>/<yml path>/<test alias>.sql`, as dbt.
pub fn compiled_path(target_path: &str, node: &Node) -> PathBuf {
    let base = Path::new(target_path)
        .join("compiled")
        .join(&node.package_name);
    match &node.test_metadata {
        Some(_) => {
            let alias = node
                .config
                .get_str("alias")
                .unwrap_or_else(|| node.name.clone());
            base.join(&node.original_file_path)
                .join(format!("{alias}.sql"))
        }
        None => base.join(&node.original_file_path),
    }
}

/// Writes `text` to `path` unless the file already holds exactly that text:
/// rewriting thousands of unchanged files (truncate + write) dominates
/// `compile` on large projects.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    match std::fs::read(path) {
        Ok(old) if old == text.as_bytes() => Ok(()),
        _ => std::fs::write(path, text),
    }
}

/// Renders one node for execution.
///
/// Errors: Jinja errors located in the node's file (or macro).
pub fn compile_node(renderer: &Renderer, resolver: &Arc<Resolver>, node: &Node) -> Result<String> {
    let scope = Arc::new(NodeScope::new(
        Phase::Compile,
        &node.unique_id,
        node.config.clone(),
        resolver.clone(),
    ));
    let mut vars = node.vars();
    if node.test_metadata.is_some() {
        vars.test_kwargs = Some(data_tests::render_kwargs(renderer, node, &scope, &vars)?);
    }
    let name = if node.test_metadata.is_some() {
        node.unique_id.clone()
    } else {
        slash(&node.original_file_path)
    };
    renderer.render(&name, &node.raw_code, &scope, &vars)
}

/// Compiles the nodes at `positions` (models, tests, analyses; others are
/// skipped) in parallel and writes each to its compiled path under
/// `project_root`. Returns one result per compiled node, in position order.
pub fn compile_all(
    renderer: &Renderer,
    manifest: &Manifest,
    resolver: &Arc<Resolver>,
    positions: &BTreeSet<usize>,
    project_root: &Path,
    target_path: &str,
) -> Vec<(usize, Result<Compiled>)> {
    let todo: Vec<usize> = positions
        .iter()
        .copied()
        .filter(|&i| {
            matches!(
                manifest.nodes[i].resource_type,
                ResourceType::Model | ResourceType::Test | ResourceType::Analysis
            )
        })
        .collect();
    todo.par_iter()
        .map(|&i| {
            let node = &manifest.nodes[i];
            let result = compile_node(renderer, resolver, node).and_then(|code| {
                let path = compiled_path(target_path, node);
                let abs = project_root.join(&path);
                if let Some(dir) = abs.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
                }
                write_if_changed(&abs, &code).map_err(|e| Error::io("write", &path, e))?;
                Ok(Compiled { code, path })
            });
            (i, result)
        })
        .collect()
}
