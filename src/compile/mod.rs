//! dbt's compile phase: each selected model, test and analysis is rendered
//! again with `execute` true and every ref resolved, in parallel, and
//! written to `target/compiled/<project>/<path>`. Models with an enforced
//! contract are checked against the columns their SQL provably produces
//! (`compile/contract.rs`, sluice's extension).

mod checks;
mod contract;
mod output;
mod snapshots;

use checks::{check_sql, contract_warnings, undeclared_reads};
pub use contract::locate_mismatch;
use output::write_if_changed;
pub use output::{compiled_path, CompileContext, Compiled};
pub use snapshots::{check_snapshots, write_snapshots};

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::grain::{Grains, Inference};
use crate::lineage::{Lineage, Schemas};
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::render::{BatchScope, Introspection, NodeScope, Phase, Renderer, Resolver};

/// Renders one node for execution, with warehouse statements deferred
/// (they return empty results; see [`Introspection::Deferred`]).
///
/// Errors: Jinja errors located in the node's file (or macro).
pub fn compile_node(renderer: &Renderer, resolver: &Arc<Resolver>, node: &Node) -> Result<String> {
    render_node(renderer, resolver, node, &Introspection::Deferred, None).0
}

/// Renders one node for execution with `introspection` for warehouse
/// statements; returns the SQL (or the Jinja error located in the node's
/// file or macro) and whether the render asked the warehouse anything.
fn render_node(
    renderer: &Renderer,
    resolver: &Arc<Resolver>,
    node: &Node,
    introspection: &Introspection,
    batch: Option<&BatchScope>,
) -> (Result<String>, bool) {
    let scope = Arc::new(
        NodeScope::new(
            Phase::Compile,
            &node.unique_id,
            node.config.clone(),
            resolver.clone(),
        )
        .with_introspection(introspection.clone())
        .with_batch(batch.cloned()),
    );
    let code = (|| {
        let mut vars = node.vars();
        if let Some(batch) = batch {
            vars.model = with_batch(&vars.model, batch);
        }
        if node.test_metadata.is_some() {
            vars.test_kwargs = Some(crate::manifest::generic_tests::render_kwargs(
                renderer, node, &scope, &vars,
            )?);
        }
        let name = if node.test_metadata.is_some() {
            node.unique_id.clone()
        } else {
            slash(&node.original_file_path)
        };
        renderer.render(&name, &node.raw_code, &scope, &vars)
    })();
    (code, scope.captured().introspective)
}

/// Compiles the nodes at `positions` (models, tests, analyses; others are
/// skipped) in parallel and writes each to its compiled path under
/// `cx.project_root`. Ephemeral models they ref are compiled too and injected
/// as `__dbt__cte__<name>` CTEs, nested ephemerals first, as dbt does.
/// Warehouse statements are deferred ([`Compiled::introspective`]). With
/// [`Lineage::Compute`], every compiled model and snapshot also gets its
/// [`Compiled::columns_lineage`].
/// Returns one result per compiled node, in position order.
pub fn compile_all(
    cx: &CompileContext,
    positions: &BTreeSet<usize>,
    lineage: Lineage,
) -> Vec<(usize, Result<Compiled>)> {
    let (manifest, renderer, resolver) = (cx.manifest, cx.renderer, cx.resolver);
    let (project_root, target_path) = (cx.project_root, cx.target_path);
    let mut todo: BTreeSet<usize> = positions
        .iter()
        .copied()
        .filter(|&i| compilable(manifest, i))
        .collect();
    let ephemerals: BTreeMap<usize, Vec<usize>> = todo
        .par_iter()
        .map(|&i| (i, ephemeral_ancestors(manifest, i)))
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    todo.extend(ephemerals.values().flatten().copied());
    let rendered: HashMap<usize, (Result<String>, bool)> = todo
        .par_iter()
        .map(|&i| {
            let node = &manifest.nodes[i];
            (
                i,
                render_node(renderer, resolver, node, &Introspection::Deferred, None),
            )
        })
        .collect();
    let mut order: Vec<usize> = todo.into_iter().filter(|i| positions.contains(i)).collect();
    order.sort_unstable();
    // The compiled files' folders, created once each rather than once per
    // file (a few hundred folders for tens of thousands of files). A folder
    // that cannot be created here is tried again, and reported, per file.
    let folders: BTreeSet<PathBuf> = order
        .par_iter()
        .filter_map(|&i| {
            let path = project_root.join(compiled_path(target_path, &manifest.nodes[i]));
            path.parent().map(Path::to_path_buf)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    let ready: HashSet<PathBuf> = folders
        .into_iter()
        .filter(|dir| std::fs::create_dir_all(dir).is_ok())
        .collect();
    let finish_one = |i: usize| finish(cx, &rendered, i, &ephemerals[&i], &ready);
    let lineage = if skip_sql_for_bench() {
        Lineage::Skip
    } else {
        lineage
    };
    let Lineage::Compute { warehouse } = lineage else {
        return order
            .par_iter()
            .map(|&i| (i, finish_one(i).map(|(c, _)| c)))
            .collect();
    };
    // Lineage reads its parents' output columns, so models and snapshots
    // are finished level by level (each level in parallel), each lineage
    // computed from the syntax tree the SQL check built and the tree
    // dropped at once: one parse per model, and no trees kept alive
    // (~60 KB a model). Tests and analyses need no lineage: they are
    // finished alongside, filling the cores while a level waits for its
    // last node.
    let wanted: HashSet<usize> = order.iter().copied().collect();
    let levels: Vec<Vec<usize>> = crate::graph::levels(manifest)
        .into_iter()
        .map(|level| level.into_iter().filter(|i| wanted.contains(i)).collect())
        .collect();
    let in_levels: HashSet<usize> = levels.iter().flatten().copied().collect();
    let rest: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| !in_levels.contains(i))
        .collect();
    let finish_levels = || {
        let mut schemas = Schemas::new(manifest, project_root, warehouse, |i| {
            in_levels.contains(&i)
        });
        let mut contracts = contract::ContractCheck::new(manifest, project_root, warehouse, |i| {
            in_levels.contains(&i)
        });
        let mut grains = Grains::new(
            manifest,
            |node| schemas.columns(node),
            |i| in_levels.contains(&i),
        );
        let mut out = Vec::with_capacity(in_levels.len());
        for level in &levels {
            type Done = (
                usize,
                Result<Compiled>,
                Option<Vec<crate::contract::ColumnType>>,
                Option<Inference>,
            );
            let done: Vec<Done> = level
                .par_iter()
                .map(|&i| {
                    let mut inferred = None;
                    let mut grain = None;
                    let compiled = finish_one(i).and_then(|(mut c, statements)| {
                        if let Some(s) = &statements {
                            inferred = contracts.infer(s);
                            contracts.check(&manifest.nodes[i], inferred.as_deref(), &c.path)?;
                            let node = &manifest.nodes[i];
                            if !skip_grain_for_bench() {
                                let incremental = node.config.materialized() == "incremental";
                                let inference = grains.infer(s, incremental);
                                if let Some(Ok(own)) = rendered.get(&i).map(|(r, _)| r) {
                                    c.warnings
                                        .extend(grain_warnings(node, own, &inference, &grains));
                                }
                                c.grain = Some(inference.grain.clone());
                                grain = Some(inference);
                            }
                        }
                        if let (Some(s), Some(Ok(own))) =
                            (&statements, rendered.get(&i).map(|(r, _)| r))
                        {
                            let node = &manifest.nodes[i];
                            let yaml: Vec<(String, String)> = node
                                .columns
                                .iter()
                                .filter_map(|col| {
                                    let why = col.meta.get("why")?.as_str()?;
                                    Some((col.name.clone(), why.to_owned()))
                                })
                                .collect();
                            c.why = crate::lineage::why_notes(own, s, &yaml);
                        }
                        c.columns_lineage = statements.map(|s| schemas.lineage(&s));
                        Ok(c)
                    });
                    (i, compiled, inferred, grain)
                })
                .collect();
            for (i, c, inferred, grain) in done {
                let lin = c.as_ref().ok().and_then(|c| c.columns_lineage.as_deref());
                schemas.record(i, lin);
                contracts.record(&manifest.nodes[i], inferred);
                grains.record(i, grain.as_ref());
                out.push((i, c));
            }
        }
        out
    };
    let finish_rest = || -> Vec<(usize, Result<Compiled>)> {
        rest.par_iter()
            .map(|&i| (i, finish_one(i).map(|(c, _)| c)))
            .collect()
    };
    let (mut out, others) = rayon::join(finish_levels, finish_rest);
    out.extend(others);
    out.sort_unstable_by_key(|(i, _)| *i);
    prove_tests(manifest, &mut out);
    check_why_notes(cx, &rendered, &mut out);
    out
}

/// Checks every compiled model's why-notes against their pins in the
/// project's [`crate::lineage::PINS_FILE`]: a note whose expression
/// changed is a [`crate::ErrorKind::StaleNote`] warning at the expression,
/// until the note is edited. Writes the pins back when they changed (nodes
/// not compiled now keep theirs; nodes no longer in the project lose
/// theirs), and removes the file when no note is left.
fn check_why_notes(
    cx: &CompileContext,
    rendered: &HashMap<usize, (Result<String>, bool)>,
    out: &mut [(usize, Result<Compiled>)],
) {
    let file = cx.project_root.join(crate::lineage::PINS_FILE);
    let existed = file.exists();
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    // A merge conflict's markers can read as YAML keys: looked for first.
    let conflict = text.lines().position(|l| {
        ["<<<<<<<", "=======", ">>>>>>>"]
            .iter()
            .any(|m| l.starts_with(m))
    });
    let path = std::path::Path::new(crate::lineage::PINS_FILE);
    let parsed = match conflict {
        Some(line) => Err(Error::new(
            crate::ErrorKind::Yaml,
            format!("`{}` has a merge conflict", path.display()),
        )
        .with_location(crate::error::Location::new(path, line + 1, 1, Some(&text)))),
        None => crate::project::yaml::parse(path, &text),
    };
    let mut pinned: crate::lineage::PinnedNotes = match parsed {
        Ok(pinned) => pinned,
        // Unreadable pins are neither checked nor overwritten: rewriting
        // them would re-pin every stale note. The warning rides on the
        // first compiled node, as the project has no node of its own.
        Err(warning) => {
            let warning = warning.with_hint(
                "no why-note was checked and the file is left as it is: fix it (a merge conflict?), or delete it to pin every note to its expression as it is now",
            );
            let first = out.iter_mut().find_map(|(_, c)| c.as_mut().ok());
            if let Some(c) = first {
                c.warnings.push(warning);
            }
            return;
        }
    };
    pinned.retain(|uid, _| cx.manifest.position(uid).is_some());
    if pinned.is_empty()
        && !existed
        && out
            .iter()
            .all(|(_, c)| c.as_ref().map_or(true, |c| c.why.is_empty()))
    {
        return;
    }
    for (i, c) in out.iter_mut() {
        let Ok(c) = c else { continue };
        let node = &cx.manifest.nodes[*i];
        if c.why.is_empty() && !pinned.contains_key(&node.unique_id) {
            continue;
        }
        let keep = crate::lineage::check_pins(&mut c.why, pinned.get(&node.unique_id));
        for note in c.why.iter().filter(|n| n.stale_since.is_some()) {
            let own = rendered.get(i).and_then(|(r, _)| r.as_ref().ok());
            let (line, col) = own.map_or((1, 1), |own| {
                crate::sql::map_to_template(&node.raw_code, own, note.line.max(1), 1)
            });
            c.warnings.push(
                Error::new(
                    crate::ErrorKind::StaleNote,
                    format!(
                        "the note \"{}\" may be stale: it was written for `{}`, and the expression is now `{}`",
                        note.note,
                        note.stale_since.as_deref().unwrap_or_default(),
                        note.expression
                    ),
                )
                .with_location(crate::error::Location::new(
                    &node.original_file_path,
                    line,
                    col,
                    Some(&node.raw_code),
                ))
                .with_hint("check that the note still says why, and edit it (any change to its text pins it to the new expression)"),
            );
        }
        if keep.is_empty() {
            pinned.remove(&node.unique_id);
        } else {
            pinned.insert(node.unique_id.clone(), keep);
        }
    }
    if pinned.is_empty() {
        if existed {
            let _ = std::fs::remove_file(&file);
        }
    } else if let Ok(yaml) = serde_yaml::to_string(&pinned) {
        let text = format!(
            "# Written by sluice: the expression each `-- why:` note and `meta.why` was\n\
             # written for. Commit it: compile warns when an expression changes and its\n\
             # note does not.\n{yaml}"
        );
        let _ = write_if_changed(&file, &text);
    }
}

/// Sets the [`Compiled::proof`] of every compiled data test whose tested
/// node's inferred grain (compiled in the same call) proves it.
fn prove_tests(manifest: &Manifest, out: &mut [(usize, Result<Compiled>)]) {
    let grains: HashMap<&str, crate::grain::Grain> = out
        .iter()
        .filter_map(|(i, c)| {
            let grain = c.as_ref().ok()?.grain.clone()?;
            Some((manifest.nodes[*i].unique_id.as_str(), grain))
        })
        .collect();
    for (i, c) in out.iter_mut() {
        let test = &manifest.nodes[*i];
        let Ok(c) = c else { continue };
        let Some(grain) = crate::grain::tested_node(test).and_then(|t| grains.get(t)) else {
            continue;
        };
        c.proof = crate::grain::prove(test, grain);
    }
}

/// The compile warnings of a model's grain: each nondeterministic
/// expression, and each join that can multiply rows when the model
/// declares a grain the inference does not prove, located in the model's
/// file (`own`: its rendered SQL, which the positions are in).
fn grain_warnings(node: &Node, own: &str, inference: &Inference, grains: &Grains) -> Vec<Error> {
    use crate::error::{ErrorKind, Location};
    let at = |line: usize, column: usize| {
        let (l, c) = crate::sql::map_to_template(&node.raw_code, own, line, column);
        Location::new(&node.original_file_path, l, c, Some(&node.raw_code))
    };
    let mut out = Vec::new();
    for f in &inference.findings {
        out.push(
            Error::new(
                ErrorKind::Nondeterminism,
                format!(
                    "nondeterministic in {} `{}`: {}",
                    node.resource_type.as_str(),
                    node.name,
                    f.message
                ),
            )
            .with_location(at(f.line, f.column))
            .with_hint(f.hint.clone()),
        );
    }
    let Some(declared) = grains.declared(&node.unique_id) else {
        return out;
    };
    let broken: Vec<&crate::grain::DeclaredGrain> = declared
        .grain
        .iter()
        .filter(|d| {
            inference
                .grain
                .key_within(&d.columns, d.columns.len() > 1)
                .is_none()
        })
        .collect();
    if !broken.is_empty() {
        let promised: Vec<String> = broken
            .iter()
            .map(|d| format!("one row per `{}` ({})", d.columns.join(", "), d.source))
            .collect();
        for f in &inference.fan_outs {
            let upstream = f
                .upstream
                .as_deref()
                .filter(|u| !u.eq_ignore_ascii_case(&f.right))
                .map(|u| format!(" (`{u}`)"))
                .unwrap_or_default();
            let on = if f.columns.is_empty() {
                "on every row".to_owned()
            } else {
                format!("on `{}`", f.columns.join(", "))
            };
            let lacking = match &f.upstream {
                Some(u) => format!("`{u}`"),
                None => format!("`{}`", f.right),
            };
            out.push(
                Error::new(
                    ErrorKind::Grain,
                    format!(
                        "the join to `{}`{upstream} can multiply the rows of {}: {lacking} is not known to be unique {on}, and model `{}` declares {}",
                        f.right, f.left, node.name, promised.join(" and ")
                    ),
                )
                .with_location(at(f.line, f.column))
                .with_hint(if f.columns.is_empty() {
                    "join on a key of the right side, or aggregate it to one row per join key first".to_owned()
                } else {
                    let cols = f.columns.join(", ");
                    format!(
                        "aggregate {lacking} to one row per `{cols}` before joining; if it already is, declare it: a `unique` test on `{cols}` of {lacking}"
                    )
                }),
            );
        }
    }
    // A not-null promise on a column an outer join can make NULL.
    for n in &inference.nullable {
        let Some(source) = declared.not_null_promised(&n.name) else {
            continue;
        };
        if inference.grain.not_null_reason(&n.name).is_some() {
            continue;
        }
        out.push(
            Error::new(
                ErrorKind::Grain,
                format!(
                    "`{}` of model `{}` is NULL on every row that {} does not match, and {source} expects no NULLs",
                    n.name, node.name, n.join
                ),
            )
            .with_location(at(n.line, n.column))
            .with_hint(format!(
                "write `coalesce({}, <default>)`, or an inner join if every row has a match",
                n.name
            )),
        );
    }
    out
}

/// Whether `SLUICE_BENCH_SKIP_SQL` is set: a benchmark-only switch
/// (bench/compile.py `--overhead`) that leaves out the sqlparser check and
/// column lineage, to measure what they add to `compile`. Not for use:
/// without it, SQL errors are found only by the warehouse.
fn skip_sql_for_bench() -> bool {
    static SKIP: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("SLUICE_BENCH_SKIP_SQL").is_some());
    *SKIP
}

/// Whether `SLUICE_BENCH_SKIP_GRAIN` is set: a benchmark-only switch
/// (bench/compile.py `--grain`) that leaves out grain inference and the
/// nondeterminism lint, to measure what they add to `compile`.
fn skip_grain_for_bench() -> bool {
    static SKIP: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("SLUICE_BENCH_SKIP_GRAIN").is_some());
    *SKIP
}

/// Compiles node `i` alone with `introspection` (a live connection, right
/// before it runs, for a node that [`Compiled::introspective`] marked), and
/// writes it over its compiled file.
///
/// Errors: as [`compile_all`]'s results, plus warehouse errors of its statements.
pub fn compile_one(
    cx: &CompileContext,
    i: usize,
    introspection: &Introspection,
) -> Result<Compiled> {
    let ancestors = ephemeral_ancestors(cx.manifest, i);
    let rendered = render_family(cx, i, &ancestors, None, introspection, None);
    finish(cx, &rendered, i, &ancestors, &HashSet::new()).map(|(c, _)| c)
}

/// Node `i`'s SQL with its ephemeral ancestors injected, not written
/// anywhere; `this` replaces the node's own relation (a unit test's
/// `input: this`).
///
/// Errors: Jinja errors of the node or an ephemeral ancestor.
pub fn render_with_ephemerals(
    cx: &CompileContext,
    i: usize,
    this: Option<crate::warehouse::relation::Relation>,
    introspection: &Introspection,
) -> Result<String> {
    let ancestors = ephemeral_ancestors(cx.manifest, i);
    let rendered = render_family(cx, i, &ancestors, this, introspection, None);
    inject_ephemerals(cx.manifest, &rendered, i, &ancestors)
}

/// Node `i`'s SQL for one microbatch `batch`, with its ephemeral ancestors
/// injected, not written anywhere: rendered again with `model.batch` set,
/// `is_incremental()` as the batch says, and every ref and source whose
/// node sets `event_time` read through the batch's window, as dbt
/// compiles each batch.
///
/// Errors: Jinja errors of the node or an ephemeral ancestor.
pub fn render_batch(
    cx: &CompileContext,
    i: usize,
    batch: &BatchScope,
    introspection: &Introspection,
) -> Result<String> {
    let ancestors = ephemeral_ancestors(cx.manifest, i);
    let rendered = render_family(cx, i, &ancestors, None, introspection, Some(batch));
    inject_ephemerals(cx.manifest, &rendered, i, &ancestors)
}

/// The `model` template value with dbt's `model.batch` filled: `id`,
/// `event_time_start` and `event_time_end` (ISO, UTC). Outside a batch
/// (`compile`, the compiled file) the fields are none.
fn with_batch(model: &minijinja::Value, batch: &BatchScope) -> minijinja::Value {
    let iso = crate::render::utc_text;
    let batch_value = minijinja::Value::from_iter([
        ("id", minijinja::Value::from(batch.id.clone())),
        ("event_time_start", minijinja::Value::from(iso(batch.start))),
        ("event_time_end", minijinja::Value::from(iso(batch.end))),
    ]);
    let mut map: BTreeMap<String, minijinja::Value> = BTreeMap::new();
    if let Ok(keys) = model.try_iter() {
        for key in keys {
            if let (Some(name), Ok(value)) = (key.as_str(), model.get_item(&key)) {
                map.insert(name.to_owned(), value);
            }
        }
    }
    map.insert("batch".to_owned(), batch_value);
    minijinja::Value::from(map)
}

/// Renders node `i` and its ephemeral `ancestors`.
fn render_family(
    cx: &CompileContext,
    i: usize,
    ancestors: &[usize],
    this: Option<crate::warehouse::relation::Relation>,
    introspection: &Introspection,
    batch: Option<&BatchScope>,
) -> HashMap<usize, (Result<String>, bool)> {
    ancestors
        .iter()
        .map(|&a| {
            let node = &cx.manifest.nodes[a];
            (
                a,
                render_node(cx.renderer, cx.resolver, node, introspection, batch),
            )
        })
        .chain(std::iter::once({
            let node = &cx.manifest.nodes[i];
            let rendered = match this {
                Some(rel) => {
                    let mut node = node.clone();
                    node.relation = Some(rel);
                    node.template = None;
                    render_node(cx.renderer, cx.resolver, &node, introspection, batch)
                }
                None => render_node(cx.renderer, cx.resolver, node, introspection, batch),
            };
            (i, rendered)
        }))
        .collect()
}

/// Whether node `i` is compiled: models, tests and analyses.
fn compilable(manifest: &Manifest, i: usize) -> bool {
    matches!(
        manifest.nodes[i].resource_type,
        ResourceType::Model | ResourceType::Test | ResourceType::Analysis | ResourceType::Snapshot
    )
}

/// Node `i`'s compiled form from the renders of it and its ephemeral
/// `ancestors`: CTEs injected, hooks rendered, the file written (its
/// folder created unless it is in `ready`), with sqlparser's statements of
/// its own SQL when the syntax check parsed them.
fn finish(
    cx: &CompileContext,
    rendered: &HashMap<usize, (Result<String>, bool)>,
    i: usize,
    ancestors: &[usize],
    ready: &HashSet<PathBuf>,
) -> Result<(Compiled, Option<Vec<sqlparser::ast::Statement>>)> {
    let node = &cx.manifest.nodes[i];
    let introspective = ancestors
        .iter()
        .chain([&i])
        .any(|a| rendered.get(a).is_some_and(|(_, asked)| *asked));
    let code = match inject_ephemerals(cx.manifest, rendered, i, ancestors) {
        Ok(code) => code,
        // Compiled ahead, a render that asked the warehouse can fail on its
        // empty results (`run_query(...).columns[0]`): it is compiled again,
        // live, before it runs, and only that render's error counts.
        Err(_) if introspective => {
            "-- compiled again against the warehouse before running (run_query)\n".to_owned()
        }
        Err(e) => return Err(e),
    };
    let path = compiled_path(cx.target_path, node);
    let abs = cx.project_root.join(&path);
    if let Some(dir) = abs.parent().filter(|dir| !ready.contains(*dir)) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    write_if_changed(&abs, &code).map_err(|e| Error::io("write", &path, e))?;
    let mut warnings = contract_warnings(cx.project_root, node);
    let mut statements = None;
    if !introspective && !skip_sql_for_bench() {
        if let Some(Ok(own)) = rendered.get(&i).map(|(r, _)| r) {
            if let Some(parsed) = check_sql(node, own, &path, cx.renderer.macros(), cx.sql_dialect)?
            {
                warnings.extend(undeclared_reads(cx, node, &parsed));
                statements = Some(parsed);
            }
        }
    }
    let (pre_hooks, pre_live) = render_hooks(cx, node, "pre-hook", &Introspection::Deferred)?;
    let (post_hooks, post_live) = render_hooks(cx, node, "post-hook", &Introspection::Deferred)?;
    let compiled = Compiled {
        code,
        path,
        pre_hooks,
        post_hooks,
        hooks_introspective: pre_live || post_live,
        introspective,
        warnings,
        columns_lineage: None,
        grain: None,
        proof: None,
        why: Vec::new(),
    };
    Ok((compiled, statements))
}

/// Renders node's `pre-hook` / `post-hook` (`key`) statements in its
/// compile context, with `introspection` for the warehouse statements they
/// run (`{% call statement() %}`, `run_query`). Returns the statements, in
/// run order, and whether rendering them asked the warehouse something
/// (under [`Introspection::Deferred`]: they must be rendered again, live,
/// when they run, as dbt renders hooks inside the materialization).
///
/// Errors: Jinja errors in a hook; warehouse errors of its statements.
pub fn render_hooks(
    cx: &CompileContext,
    node: &Node,
    key: &str,
    introspection: &Introspection,
) -> Result<(Vec<String>, bool)> {
    let hooks = node.config.hooks(key);
    if hooks.is_empty() {
        return Ok((hooks, false));
    }
    let scope = Arc::new(
        NodeScope::new(
            Phase::Compile,
            &node.unique_id,
            node.config.clone(),
            cx.resolver.clone(),
        )
        .with_introspection(introspection.clone()),
    );
    let vars = node.vars();
    let name = format!("<{key} of {}>", node.name);
    let sql = hooks
        .iter()
        .map(|h| {
            cx.renderer
                .render(&name, h, &scope, &vars)
                .map_err(|e| e.with_note(format!("in a `{key}` of `{}`", node.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((sql, scope.captured().introspective))
}

/// Whether a node is an ephemeral model.
fn is_ephemeral(manifest: &Manifest, i: usize) -> bool {
    let node = &manifest.nodes[i];
    node.resource_type == ResourceType::Model && node.config.is_ephemeral()
}

/// The ephemeral models node `i` reads, directly or through other
/// ephemerals, dependencies first.
pub fn ephemeral_ancestors(manifest: &Manifest, i: usize) -> Vec<usize> {
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
    rendered: &HashMap<usize, (Result<String>, bool)>,
    i: usize,
    ancestors: &[usize],
) -> Result<String> {
    let own = rendered[&i].0.as_ref().map_err(Error::duplicate)?;
    if ancestors.is_empty() {
        return Ok(own.clone());
    }
    let mut ctes = Vec::with_capacity(ancestors.len());
    for &a in ancestors {
        let body = rendered[&a].0.as_ref().map_err(Error::duplicate)?;
        let name = format!("__dbt__cte__{}", manifest.nodes[a].name);
        ctes.push(format!(
            "{name} as (\n{}\n)",
            crate::sql::strip_trailing_semicolons(body)
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
