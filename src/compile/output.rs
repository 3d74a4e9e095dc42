//! What compiling produces and needs: a node's [`Compiled`] SQL, the
//! [`CompileContext`] every compile step takes, and where compiled files go.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::manifest::{Manifest, Node};
use crate::render::{Renderer, Resolver};

/// A node's compiled SQL and where it was written.
#[derive(Debug)]
pub struct Compiled {
    /// The SQL that runs.
    pub code: String,
    /// Path of the written file, relative to the project root.
    pub path: PathBuf,
    /// Rendered `pre-hook` statements, in run order.
    pub pre_hooks: Vec<String>,
    /// Rendered `post-hook` statements, in run order.
    pub post_hooks: Vec<String>,
    /// Whether rendering the hooks asked the warehouse something (a
    /// `statement` block, `run_query`): such hooks are rendered again, on a
    /// live connection, right when each runs (see [`crate::compile::render_hooks`]).
    pub hooks_introspective: bool,
    /// Whether the node (or an ephemeral it inlines) asked the warehouse
    /// something while compiling (`run_query`, `statement`, adapter
    /// lookups): compiled ahead of a run, such a node is compiled again
    /// right before it runs, when its parents exist (see [`compile_one`]).
    pub introspective: bool,
    /// Warnings about the node, as diagnostics (printed with
    /// [`crate::error::Severity::Warning`]): tables read without `ref()` or
    /// `source()`, contract columns that lose precision, constraints that
    /// are not enforced.
    pub warnings: Vec<Error>,
    /// Column lineage of the node's output (models and snapshots whose SQL
    /// sqlparser parsed), when [`compile_all`] was asked for it.
    pub columns_lineage: Option<Vec<crate::lineage::ColumnLineage>>,
    /// The inferred grain of the node's output (keys and not-null columns;
    /// models and snapshots whose SQL sqlparser parsed), when
    /// [`compile_all`] computed lineage.
    pub grain: Option<crate::grain::Grain>,
    /// For a data test: why it passes without running, when the tested
    /// node's grain proves it ([`crate::grain::prove`]).
    pub proof: Option<crate::grain::Proof>,
    /// A model's `-- why:` notes and columns' `meta.why`, each attached to
    /// its expression (sluice's extension).
    pub why: Vec<crate::lineage::WhyNote>,
}

/// Where a node's compiled SQL goes, relative to the project root:
/// `<target-path>/compiled/<package>/<original path>`, and for generic tests
/// `<target-path>/compiled/<package>/<yml path>/<test alias>.sql`, as dbt,
/// with paths relative to the node's package ([`Node::package_file_path`]).
pub fn compiled_path(target_path: &str, node: &Node) -> PathBuf {
    let base = Path::new(target_path)
        .join("compiled")
        .join(&node.package_name);
    if let Some(unit) = &node.unit_test {
        return base
            .join(node.package_file_path())
            .join(&unit.model)
            .join(format!("{}.sql", node.name));
    }
    match &node.test_metadata {
        Some(_) => {
            let alias = node
                .config
                .get_str("alias")
                .unwrap_or_else(|| node.name.clone());
            base.join(node.package_file_path())
                .join(format!("{alias}.sql"))
        }
        None => base.join(node.package_file_path()),
    }
}

/// Writes `text` to `path` unless the file already holds exactly that text:
/// rewriting thousands of unchanged files (truncate + write) dominates
/// `compile` on large projects.
pub(crate) fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    match std::fs::read(path) {
        Ok(old) if old == text.as_bytes() => Ok(()),
        _ => std::fs::write(path, text),
    }
}

/// What [`crate::compile::compile_all`] and [`crate::compile::compile_one`]
/// need besides the node.
#[derive(Clone, Copy)]
pub struct CompileContext<'a> {
    /// The project's Jinja environment.
    pub renderer: &'a Renderer,
    /// Every node.
    pub manifest: &'a Manifest,
    /// How refs and sources resolve.
    pub resolver: &'a Arc<Resolver>,
    /// Where compiled files are written under: the project root.
    pub project_root: &'a Path,
    /// The project's `target-path`.
    pub target_path: &'a str,
    /// How the target's SQL is parsed and checked.
    pub sql_dialect: crate::sql::SqlDialect,
}
