//! dbt's compile phase: each selected model, test and analysis is rendered
//! again with `execute` true and every ref resolved, in parallel, and
//! written to `target/compiled/<project>/<path>`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Rendered `pre-hook` statements, in run order.
    pub pre_hooks: Vec<String>,
    /// Rendered `post-hook` statements, in run order.
    pub post_hooks: Vec<String>,
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
/// `project_root`. Ephemeral models they ref are compiled too and injected
/// as `__dbt__cte__<name>` CTEs, nested ephemerals first, as dbt does.
/// Returns one result per compiled node, in position order.
pub fn compile_all(
    renderer: &Renderer,
    manifest: &Manifest,
    resolver: &Arc<Resolver>,
    positions: &BTreeSet<usize>,
    project_root: &Path,
    target_path: &str,
) -> Vec<(usize, Result<Compiled>)> {
    let compilable = |i: usize| {
        matches!(
            manifest.nodes[i].resource_type,
            ResourceType::Model | ResourceType::Test | ResourceType::Analysis
        )
    };
    let mut todo: BTreeSet<usize> = positions
        .iter()
        .copied()
        .filter(|&i| compilable(i))
        .collect();
    let ephemerals: BTreeMap<usize, Vec<usize>> = todo
        .iter()
        .map(|&i| (i, ephemeral_ancestors(manifest, i)))
        .collect();
    todo.extend(ephemerals.values().flatten().copied());
    let rendered: HashMap<usize, Result<String>> = todo
        .par_iter()
        .map(|&i| (i, compile_node(renderer, resolver, &manifest.nodes[i])))
        .collect();
    let mut order: Vec<usize> = todo.into_iter().filter(|i| positions.contains(i)).collect();
    order.sort_unstable();
    order
        .par_iter()
        .map(|&i| {
            let node = &manifest.nodes[i];
            let result =
                inject_ephemerals(manifest, &rendered, i, &ephemerals[&i]).and_then(|code| {
                    let path = compiled_path(target_path, node);
                    let abs = project_root.join(&path);
                    if let Some(dir) = abs.parent() {
                        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
                    }
                    write_if_changed(&abs, &code).map_err(|e| Error::io("write", &path, e))?;
                    Ok(Compiled {
                        code,
                        path,
                        pre_hooks: render_hooks(renderer, resolver, node, "pre-hook")?,
                        post_hooks: render_hooks(renderer, resolver, node, "post-hook")?,
                    })
                });
            (i, result)
        })
        .collect()
}

/// Renders a model's `pre-hook` / `post-hook` statements in its compile context.
///
/// Errors: Jinja errors in a hook.
fn render_hooks(
    renderer: &Renderer,
    resolver: &Arc<Resolver>,
    node: &Node,
    key: &str,
) -> Result<Vec<String>> {
    let hooks = node.config.hooks(key);
    if hooks.is_empty() {
        return Ok(hooks);
    }
    let scope = Arc::new(NodeScope::new(
        Phase::Compile,
        &node.unique_id,
        node.config.clone(),
        resolver.clone(),
    ));
    let vars = node.vars();
    let name = format!("<{key} of {}>", node.name);
    hooks
        .iter()
        .map(|h| {
            renderer
                .render(&name, h, &scope, &vars)
                .map_err(|e| e.with_note(format!("in a `{key}` of `{}`", node.name)))
        })
        .collect()
}

/// Whether a node is an ephemeral model.
fn is_ephemeral(manifest: &Manifest, i: usize) -> bool {
    let node = &manifest.nodes[i];
    node.resource_type == ResourceType::Model && node.config.materialized() == "ephemeral"
}

/// The ephemeral models node `i` reads, directly or through other
/// ephemerals, dependencies first.
fn ephemeral_ancestors(manifest: &Manifest, i: usize) -> Vec<usize> {
    fn visit(manifest: &Manifest, i: usize, out: &mut Vec<usize>) {
        for dep in &manifest.nodes[i].depends_on {
            if let Some(d) = manifest.position(dep) {
                if is_ephemeral(manifest, d) && !out.contains(&d) {
                    visit(manifest, d, out);
                    out.push(d);
                }
            }
        }
    }
    let mut out = Vec::new();
    visit(manifest, i, &mut out);
    out
}

/// Node `i`'s rendered SQL with its ephemeral ancestors injected as CTEs.
fn inject_ephemerals(
    manifest: &Manifest,
    rendered: &HashMap<usize, Result<String>>,
    i: usize,
    ancestors: &[usize],
) -> Result<String> {
    let own = rendered[&i].as_ref().map_err(Error::duplicate)?;
    if ancestors.is_empty() {
        return Ok(own.clone());
    }
    let mut ctes = Vec::with_capacity(ancestors.len());
    for &a in ancestors {
        let body = rendered[&a].as_ref().map_err(Error::duplicate)?;
        let name = format!("__dbt__cte__{}", manifest.nodes[a].name);
        ctes.push(format!(
            "{name} as (\n{}\n)",
            crate::materialize::strip_trailing_semicolons(body)
        ));
    }
    Ok(prepend_ctes(own, &ctes.join(",\n")))
}

/// Puts `ctes` (`name as (...)`, comma-separated) in front of `sql`: into
/// its own leading `with` (after `recursive`) when it has one, else as a new
/// `with` clause. Leading comments stay in front.
pub fn prepend_ctes(sql: &str, ctes: &str) -> String {
    let mut pos = 0;
    let bytes = sql.as_bytes();
    loop {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if sql[pos..].starts_with("--") {
            pos = sql[pos..].find('\n').map_or(sql.len(), |n| pos + n + 1);
        } else if sql[pos..].starts_with("/*") {
            pos = sql[pos..].find("*/").map_or(sql.len(), |n| pos + n + 2);
        } else {
            break;
        }
    }
    let word_at = |at: usize, word: &str| {
        sql.len() >= at + word.len()
            && sql[at..at + word.len()].eq_ignore_ascii_case(word)
            && sql[at + word.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_')
    };
    if word_at(pos, "with") {
        let mut after = pos + 4;
        let rest = &sql[after..];
        let skipped = rest.len() - rest.trim_start().len();
        if word_at(after + skipped, "recursive") {
            after += skipped + "recursive".len();
        }
        format!("{} {ctes},{}", &sql[..after], &sql[after..])
    } else {
        format!("{}with {ctes}\n{}", &sql[..pos], &sql[pos..])
    }
}

#[cfg(test)]
mod tests {
    use super::prepend_ctes;

    #[test]
    fn ctes_join_an_existing_with_or_start_one() {
        let ctes = "__dbt__cte__a as (\nselect 1\n)";
        assert_eq!(
            prepend_ctes("select * from __dbt__cte__a", ctes),
            "with __dbt__cte__a as (\nselect 1\n)\nselect * from __dbt__cte__a"
        );
        assert_eq!(
            prepend_ctes("-- note\nWITH x as (select 2) select * from x", ctes),
            "-- note\nWITH __dbt__cte__a as (\nselect 1\n), x as (select 2) select * from x"
        );
        assert_eq!(
            prepend_ctes("with recursive r as (select 1) select 1", "c as (select 1)"),
            "with recursive c as (select 1), r as (select 1) select 1"
        );
        // `without_x` is not the keyword `with`.
        assert_eq!(
            prepend_ctes("withdrawals", "c as (x)"),
            "with c as (x)\nwithdrawals"
        );
    }
}
