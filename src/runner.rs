//! Running one node on the warehouse, as `run`, `build`, `test`, `seed`
//! and `snapshot` do: compiling it again on a live connection when it
//! introspects, its hooks, its materialization, a test's query and its
//! judgement, a unit test. [`run`] opens the connections and hands this to
//! the scheduler ([`crate::execute`]).

mod hints;
pub mod reuse;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::compile::{compile_one, CompileContext, Compiled};
use crate::data_tests;
use crate::error::{Error, Result};
use crate::execute::output::Printer;
use crate::execute::result::BatchResults;
use crate::execute::{self, NodeResult, RunOptions, Status};
use crate::graph::Graph;
use crate::manifest::{Node, ResourceType};
use crate::materialize;
use crate::project::config::build_after::BuildAfter;
use crate::project::config::microbatch::{Batch, Microbatch};
use crate::project::config::Materialization;
use crate::render::Introspection;
use crate::warehouse::catalog::Catalog;
use crate::warehouse::connection::Connection;
use crate::warehouse::engine::Warehouse;

/// Creates each schema the `selected` models, seeds and snapshots write to,
/// once each, as dbt's `create_schemas` does before the on-run-start hooks
/// (which may write to them).
///
/// Errors: [`crate::ErrorKind::Database`] when a schema cannot be created.
pub fn create_schemas(
    renderer: &crate::render::Renderer,
    manifest: &crate::manifest::Manifest,
    selected: &BTreeSet<usize>,
    db: &dyn Warehouse,
) -> Result<()> {
    let setup = db.connect()?;
    let mut schemas = BTreeSet::new();
    for &i in selected {
        let node = &manifest.nodes[i];
        if !execute::runs(node) {
            continue;
        }
        if let (Some(rel), ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot) =
            (&node.relation, node.resource_type)
        {
            if schemas.insert((rel.database.clone(), rel.schema.clone())) {
                materialize::ensure_schema(renderer, setup.as_ref(), rel)?;
            }
        }
    }
    Ok(())
}

/// Runs `selected` nodes (positions in `cx.manifest`) on `db` and returns
/// their results in the order they finished.
///
/// `catalog` is what the warehouse held when the run started (one snapshot
/// for the run: per-model information_schema lookups would cost more than
/// building the models). `compiled` holds the compile result of every
/// selected model and test; those marked [`Compiled::introspective`] are
/// compiled again on a live connection right before they run, as dbt
/// compiles each node just before running it.
///
/// `reuse` decides which models with `freshness.build_after` are left as
/// they are (`run` and `build`), and hears of each node built.
///
/// Errors: only a failure to open connections (the schemas are made first,
/// by [`create_schemas`]); node failures are results.
#[allow(clippy::too_many_arguments)]
pub fn run(
    cx: &CompileContext,
    graph: &Graph,
    db: &dyn Warehouse,
    catalog: Arc<Catalog>,
    selected: &BTreeSet<usize>,
    compiled: &HashMap<usize, Result<Compiled>>,
    options: &RunOptions,
    printer: &Printer,
    reuse: Option<&reuse::ReuseState>,
) -> Result<Vec<NodeResult>> {
    let manifest = cx.manifest;
    // Statements run while compiling go through a connection of their own
    // (without the catalog cache: they may see relations hooks created).
    let introspective = compiled.values().any(|c| {
        c.as_ref()
            .is_ok_and(|c| c.introspective || c.hooks_introspective)
    });
    let make_worker = || -> Result<(Box<dyn Connection>, Option<Introspection>)> {
        let conn = db.connect_cached(catalog.clone())?;
        let live = if introspective {
            let live = db.connect()?;
            Some(Introspection::Live(Arc::new(Mutex::new(live))))
        } else {
            None
        };
        Ok((conn, live))
    };
    // Spare connections for microbatch models that run batches
    // concurrently (`concurrent_batches: true`), up to `--threads` in all:
    // opened here, as the warehouse is not shared across threads.
    let concurrent = selected.iter().any(|&i| {
        Microbatch::of(&manifest.nodes[i].config)
            .is_ok_and(|m| m.is_some_and(|m| m.concurrent_batches == Some(true)))
    });
    let spare: Vec<Box<dyn Connection>> = if concurrent {
        (1..options.threads)
            .map(|_| db.connect_cached(catalog.clone()))
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let spare = Mutex::new(spare);
    let run_node =
        |(conn, live): &(Box<dyn Connection>, Option<Introspection>), i: usize, thread_id: &str| {
            let worker = Worker {
                conn: conn.as_ref(),
                live: live.as_ref(),
                spare: &spare,
                reuse,
            };
            run_one(cx, &worker, i, compiled.get(&i), options, thread_id)
        };
    execute::execute(
        manifest,
        graph,
        selected,
        options,
        printer,
        &make_worker,
        &run_node,
    )
}

/// What one scheduler worker runs nodes with.
struct Worker<'a> {
    /// Its connection.
    conn: &'a dyn Connection,
    /// Its connection for statements run while compiling, if any node needs one.
    live: Option<&'a Introspection>,
    /// Connections a microbatch model's concurrent batches borrow.
    spare: &'a Mutex<Vec<Box<dyn Connection>>>,
    /// Model freshness: which models are reused, and what was built.
    reuse: Option<&'a reuse::ReuseState>,
}

fn run_one(
    cx: &CompileContext,
    worker: &Worker,
    i: usize,
    compiled: Option<&Result<Compiled>>,
    options: &RunOptions,
    thread_id: &str,
) -> NodeResult {
    let live = worker.live;
    let node = &cx.manifest.nodes[i];
    let started_at = Utc::now();
    let clock = Instant::now();
    let recompiled;
    let compiled = match (compiled, live) {
        (Some(Ok(c)), Some(live)) if c.introspective => {
            recompiled = compile_one(cx, i, live);
            Some(&recompiled)
        }
        _ => compiled,
    };
    if let Some(reason) = reuse_reason(cx, worker, node, options) {
        let mut result = NodeResult {
            started_at,
            execution_time: clock.elapsed().as_secs_f64(),
            ..NodeResult::new(i, Status::Reused, thread_id)
        };
        result.message = format!("Reused: {reason}");
        return result;
    }
    let proof = match compiled {
        Some(Ok(c)) if node.resource_type == ResourceType::Test => {
            c.proof.as_ref().map(|p| p.reason.clone())
        }
        _ => None,
    };
    if let (Some(reason), true) = (&proof, options.skip_proven) {
        let mut result = NodeResult {
            started_at,
            failures: Some(0),
            ..NodeResult::new(i, Status::Pass, thread_id)
        };
        result.message = "PASS (proven, not run)".to_owned();
        result.proof = Some((reason.clone(), false));
        return result;
    }
    let outcome = run_node(cx, worker, i, compiled, options);
    if let Some(reuse) = worker.reuse {
        if matches!(
            outcome,
            Ok(NodeOutcome::Built(_) | NodeOutcome::Batched { .. })
        ) {
            reuse.record(&node.unique_id);
        }
    }
    let elapsed: Duration = clock.elapsed();
    let mut result = NodeResult {
        started_at,
        execution_time: elapsed.as_secs_f64(),
        ..NodeResult::new(i, Status::Success, thread_id)
    };
    match outcome {
        Ok(NodeOutcome::Built(o)) => {
            result.message = o.code;
            result.rows = o.rows;
        }
        Ok(NodeOutcome::Batched { run, prior }) => {
            let total = prior.len() + run.successful.len() + run.failed.len();
            let mut successful = prior;
            successful.extend(run.successful.iter().copied());
            let done = successful.len();
            result.batch_results = Some(BatchResults {
                successful,
                failed: run.failed.iter().map(|(b, _)| *b).collect(),
            });
            if run.failed.is_empty() {
                result.message = format!("OK {done} batch{}", if done == 1 { "" } else { "es" });
            } else {
                result.status = if done == 0 {
                    Status::Error
                } else {
                    Status::PartialSuccess
                };
                result.message = format!(
                    "{} of {total} batches failed, the first ({}): {}",
                    run.failed.len(),
                    run.failed[0].0.start.format("%Y-%m-%d %H:%M:%S"),
                    run.failed[0].1.message()
                );
                result.error = Some(
                    run.failed
                        .iter()
                        .map(|(b, e)| {
                            format!(
                                "batch [{}, {}):\n{}",
                                b.start.format("%Y-%m-%d %H:%M:%S"),
                                b.end.format("%Y-%m-%d %H:%M:%S"),
                                e.render()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
        }
        Ok(NodeOutcome::UnitTested(o)) => match o.diff {
            None => result.status = Status::Pass,
            Some(diff) => {
                result.status = Status::Fail;
                result.failures = Some(o.differing_rows);
                result.message = diff.lines().next().unwrap_or_default().to_owned();
                result.error = Some(diff);
            }
        },
        Ok(NodeOutcome::Tested { failures, status }) => {
            result.status = status;
            result.failures = Some(failures);
            result.proof = proof.clone().map(|reason| (reason, true));
            if let (Some(reason), true) = (&proof, status != Status::Pass) {
                // A proof rests on what is declared upstream: say which.
                result.error = Some(format!(
                    "sluice had proven this test from the model's SQL ({reason}): a declaration it rests on does not hold"
                ));
            }
            result.message = match status {
                Status::Pass if proof.is_some() => "PASS (proven)".to_owned(),
                Status::Pass => "PASS".to_owned(),
                _ => format!(
                    "Got {failures} result{}, configured to {} if {}",
                    if failures == 1 { "" } else { "s" },
                    if status == Status::Warn {
                        "warn"
                    } else {
                        "fail"
                    },
                    if status == Status::Warn {
                        node.config.get_str("warn_if").unwrap_or_default()
                    } else {
                        node.config.get_str("error_if").unwrap_or_default()
                    }
                ),
            };
        }
        Err(e) => {
            let e = hints::explain(e, node, cx.manifest);
            result.status = Status::Error;
            result.message = e.message().to_owned();
            result.error = Some(e.render());
        }
    }
    result
}

/// Why model `node` is reused rather than built, as its
/// `freshness.build_after` decides ([`reuse`]); `None` to build it.
fn reuse_reason(
    cx: &CompileContext,
    worker: &Worker,
    node: &Node,
    options: &RunOptions,
) -> Option<String> {
    let reuse = worker.reuse?;
    if node.resource_type != ResourceType::Model || node.config.is_ephemeral() {
        return None;
    }
    let build_after = BuildAfter::of(&node.config).ok()??;
    let relation = node.relation.as_ref()?;
    let exists = worker.conn.relation_type(relation).ok()?.is_some();
    reuse.reuse_reason(
        cx.manifest,
        node,
        &build_after,
        exists,
        options.full_refresh,
    )
}

/// Runs microbatch model `i` (config `config`): the batches the clock and
/// the `--event-time-*` flags give, or, for `retry`, the ones that failed
/// before; each rendered for its window and applied on its own.
///
/// Errors: the table could not be looked up, or the first batch of a new
/// table failed.
fn run_microbatch(
    cx: &CompileContext,
    worker: &Worker,
    i: usize,
    config: &Microbatch,
    options: &RunOptions,
) -> Result<NodeOutcome> {
    let (conn, live) = (worker.conn, worker.live);
    let node = &cx.manifest.nodes[i];
    let mb = &options.microbatch;
    let (batches, prior, adds) = match mb.retry.get(&node.unique_id) {
        Some(before) => (
            before.failed.clone(),
            before.successful.clone(),
            materialize::microbatch::adds_to_table(conn, node, false)?,
        ),
        None => {
            let adds = materialize::microbatch::adds_to_table(conn, node, options.full_refresh)?;
            let batches = config.batches(adds, mb.now, mb.event_time_start, mb.event_time_end);
            (batches, Vec::new(), adds)
        }
    };
    let introspection = live.cloned().unwrap_or(Introspection::Off);
    let render = |scope: &crate::render::BatchScope| {
        crate::compile::render_batch(cx, i, scope, &introspection)
    };
    // Concurrent batches borrow the spare connections (DuckDB: each has
    // its own temporary table for the new rows) and give them back.
    let mut borrowed: Vec<Box<dyn Connection>> =
        if config.concurrent_batches == Some(true) && conn.adapter_type() == "duckdb" {
            worker
                .spare
                .lock()
                .map(|mut s| s.drain(..).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
    let run = materialize::microbatch::run(
        cx.renderer,
        conn,
        &mut borrowed,
        node,
        config,
        &batches,
        adds,
        &|scope| render(scope),
        &|e, sql| locate_in_template(e, node, sql),
    );
    if let Ok(mut pool) = worker.spare.lock() {
        pool.append(&mut borrowed);
    }
    let run = run.map_err(|e| e.with_note("in the first batch, which builds the table"))?;
    Ok(NodeOutcome::Batched { run, prior })
}

/// Runs a node's `pre-hook` or `post-hook` (`key`) statements on `conn`
/// (models, seeds and snapshots, as dbt). Hooks rendered ahead
/// (`compiled`) are used as they are unless their render asked the
/// warehouse; those, and the hooks of nodes not compiled ahead (seeds), are
/// rendered here, on `live` when there is one, so their `statement` blocks
/// run now, after the node's parents (for a post-hook: the node itself)
/// exist, as dbt renders hooks inside the materialization.
///
/// Errors: Jinja or warehouse errors, noted with the hook.
fn run_hooks(
    cx: &CompileContext,
    conn: &dyn Connection,
    live: Option<&Introspection>,
    node: &Node,
    compiled: Option<&Compiled>,
    key: &str,
) -> Result<()> {
    let rendered;
    let hooks = match compiled {
        Some(c) if !c.hooks_introspective || live.is_none() => {
            if key == "pre-hook" {
                &c.pre_hooks
            } else {
                &c.post_hooks
            }
        }
        _ => {
            if node.config.hooks(key).is_empty() {
                return Ok(());
            }
            let introspection = live.cloned().unwrap_or(Introspection::Off);
            rendered = crate::compile::render_hooks(cx, node, key, &introspection)?.0;
            &rendered
        }
    };
    for hook in hooks.iter().filter(|h| !h.trim().is_empty()) {
        conn.execute(hook)
            .map_err(|e| e.with_note(format!("in a {key}")))?;
    }
    Ok(())
}

enum NodeOutcome {
    Built(materialize::Outcome),
    /// A microbatch model's batches; `prior`: those a retried run had
    /// already built.
    Batched {
        run: materialize::microbatch::BatchRun,
        prior: Vec<Batch>,
    },
    UnitTested(crate::unit_tests::UnitTestOutcome),
    Tested {
        failures: i64,
        status: Status,
    },
}

fn run_node(
    cx: &CompileContext,
    worker: &Worker,
    i: usize,
    compiled: Option<&Result<Compiled>>,
    options: &RunOptions,
) -> Result<NodeOutcome> {
    let (manifest, renderer, project_root) = (cx.manifest, cx.renderer, cx.project_root);
    let (conn, live) = (worker.conn, worker.live);
    let node = &manifest.nodes[i];
    let code = || -> Result<&Compiled> {
        match compiled {
            Some(Ok(c)) => Ok(c),
            Some(Err(e)) => Err(e.duplicate()),
            None => Err(Error::new(
                crate::ErrorKind::Jinja,
                format!("`{}` was not compiled", node.unique_id),
            )),
        }
    };
    match node.resource_type {
        // Their schemas were created before the run started.
        ResourceType::Seed => {
            if !options.full_refresh {
                warn_seed_type_drift(conn, node, project_root, options.warn_error)?;
            }
            run_hooks(cx, conn, live, node, None, "pre-hook")?;
            let built = materialize::seed::run_seed(
                renderer,
                conn,
                node,
                project_root,
                options.full_refresh,
            )?;
            run_hooks(cx, conn, live, node, None, "post-hook")?;
            Ok(NodeOutcome::Built(built))
        }
        ResourceType::Model => {
            let c = code()?;
            // Hooks run around the materialization, outside its transaction.
            run_hooks(cx, conn, live, node, Some(c), "pre-hook")?;
            if let Ok(Some(config)) = Microbatch::of(&node.config) {
                let outcome = run_microbatch(cx, worker, i, &config, options)?;
                run_hooks(cx, conn, live, node, Some(c), "post-hook")?;
                return Ok(outcome);
            }
            let built = match node.config.materialization() {
                Materialization::Incremental => materialize::incremental::run(
                    renderer,
                    conn,
                    node,
                    &c.code,
                    options.full_refresh,
                ),
                Materialization::External => {
                    materialize::external::run(renderer, conn, node, &c.code, project_root)
                }
                _ => materialize::run_model(renderer, conn, node, &c.code),
            }
            .map_err(|e| locate_in_template(e, node, &c.code))
            .map_err(|e| match e.kind() {
                // A broken contract is about the model's YAML entry.
                crate::ErrorKind::Contract => {
                    let first = std::error::Error::source(&e)
                        .and_then(|s| s.downcast_ref::<crate::contract::Mismatches>())
                        .and_then(|m| m.0.first().cloned());
                    e.or_location(|| {
                        first
                            .and_then(|m| crate::compile::locate_mismatch(project_root, node, &m))
                            .or_else(|| node.yaml_location(project_root, None, None))
                    })
                }
                _ => e,
            })?;
            run_hooks(cx, conn, live, node, Some(c), "post-hook")?;
            Ok(NodeOutcome::Built(built))
        }
        ResourceType::Test => {
            let c = code()?;
            let main_sql = crate::sql::strip_trailing_semicolons(&c.code);
            if node.config.get_bool("store_failures").unwrap_or(false) {
                let audit =
                    data_tests::audit_relation(renderer, node, &manifest.resolver.database)?;
                materialize::ensure_schema(renderer, conn, &audit)?;
                let mut store = node.clone();
                store.relation = Some(audit);
                store
                    .config
                    .set("materialized", serde_json::Value::from("table"));
                materialize::run_model(renderer, conn, &store, main_sql)?;
            }
            let sql = data_tests::wrap_test_sql(renderer, &node.config, main_sql)?;
            let rows = conn
                .query(&format!(
                    "select cast(failures as bigint), cast(should_warn as boolean), cast(should_error as boolean) from ({sql}) sluice_test_result"
                ))
                // A singular test is a file the user wrote; a generic test's
                // SQL comes from a macro, whose error stays as DuckDB gave it.
                .map_err(|e| match node.test_metadata {
                    None => locate_in_template(e, node, &c.code),
                    Some(_) => e,
                })?;
            let row = rows.first().cloned().unwrap_or_default();
            let failures = row
                .first()
                .cloned()
                .flatten()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let flag = |k: usize| row.get(k).cloned().flatten().is_some_and(|s| s == "true");
            let (should_warn, should_error) = (flag(1), flag(2));
            let status = if data_tests::is_warn_severity(&node.config) {
                if should_warn || should_error {
                    Status::Warn
                } else {
                    Status::Pass
                }
            } else if should_error {
                Status::Fail
            } else if should_warn {
                Status::Warn
            } else {
                Status::Pass
            };
            // dbt's --warn-error: a test that would warn fails.
            let status = match status {
                Status::Warn if options.warn_error => Status::Fail,
                other => other,
            };
            Ok(NodeOutcome::Tested { failures, status })
        }
        ResourceType::UnitTest => {
            crate::unit_tests::run(cx, conn, node).map(NodeOutcome::UnitTested)
        }
        ResourceType::Snapshot => {
            let c = code()?;
            let run = materialize::snapshot::SnapshotRun {
                now: options.snapshot_time,
                dry_run: options.dry_run,
            };
            if !options.dry_run {
                run_hooks(cx, conn, live, node, Some(c), "pre-hook")?;
            }
            let built = materialize::snapshot::run(renderer, conn, node, &c.code, run)
                .map_err(|e| locate_in_template(e, node, &c.code))?;
            if !options.dry_run {
                run_hooks(cx, conn, live, node, Some(c), "post-hook")?;
            }
            Ok(NodeOutcome::Built(built))
        }
        ResourceType::Source | ResourceType::Analysis => {
            Ok(NodeOutcome::Built(materialize::Outcome {
                code: "OK".into(),
                rows: None,
            }))
        }
    }
}

/// Points a warehouse error at the node's own file (a model, a snapshot, a
/// singular test): DuckDB quotes the line
/// it rejected, which is found in the compiled SQL and mapped back through
/// the template (see [`crate::sql::map_to_template`]). Returns `err`
/// unchanged when it is not a [`crate::ErrorKind::Database`] error, already
/// has a location, or DuckDB's message quotes no line found in `compiled`.
pub fn locate_in_template(err: Error, node: &Node, compiled: &str) -> Error {
    if err.kind() != crate::ErrorKind::Database || err.location().is_some() {
        return err;
    }
    let Some((line, col)) = crate::sql::locate_engine_error(err.message(), compiled) else {
        return err;
    };
    let (t_line, t_col) = crate::sql::map_to_template(&node.raw_code, compiled, line, col);
    err.with_location(crate::error::Location::new(
        &node.original_file_path,
        t_line,
        t_col,
        Some(&node.raw_code),
    ))
    .with_note(format!("at line {line}, column {col} of the compiled SQL"))
}

/// Where failures' compiled SQL was written, for the summary.
pub fn compiled_paths(compiled: &HashMap<usize, Result<Compiled>>) -> HashMap<usize, PathBuf> {
    compiled
        .iter()
        .filter_map(|(&i, c)| c.as_ref().ok().map(|c| (i, c.path.clone())))
        .collect()
}

/// Warns when seed `node`'s `column_types` differ from its existing
/// table's: as dbt, the table keeps its definition until `--full-refresh`,
/// so the change would otherwise pass unnoticed. Under `--warn-error` the
/// warning fails the seed instead.
///
/// Errors: the warning itself under `warn_error`; catalog errors.
fn warn_seed_type_drift(
    conn: &dyn Connection,
    node: &Node,
    project_root: &std::path::Path,
    warn_error: bool,
) -> Result<()> {
    let drift = materialize::seed::seed_type_drift(conn, node)?;
    if drift.is_empty() {
        return Ok(());
    }
    let columns = drift
        .iter()
        .map(|(col, have, want)| {
            format!("`{col}` is {have} in the table, `column_types` says {want}")
        })
        .collect::<Vec<_>>()
        .join("; ");
    let warning = Error::new(
        crate::ErrorKind::Config,
        format!(
            "seed `{}`: {columns}; the existing table keeps its types, as in dbt",
            node.name
        ),
    )
    .with_hint(format!(
        "rebuild it with the new types: `sluice seed --full-refresh -s {}`",
        node.name
    ))
    .or_location(|| node.yaml_location(project_root, None, None))
    .or_location(|| {
        Some(crate::error::Location::new(
            &node.original_file_path,
            1,
            1,
            None,
        ))
    });
    if warn_error {
        return Err(warning.with_note("a warning, raised as an error by --warn-error"));
    }
    crate::execute::output::print_diagnostic(&warning, crate::error::Severity::Warning);
    Ok(())
}
