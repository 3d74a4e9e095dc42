//! Executing selected nodes against the warehouse in dependency order, on
//! `--threads` workers, with dbt's statuses, skip rules and summary.
//!
//! A node starts when all its selected parents have finished. When a node
//! errors (or a test fails), everything downstream of it is skipped; in
//! `build`, a failing test also skips what is downstream of the node it
//! tests. With `--fail-fast`, the first failure skips everything not yet started.

pub mod output;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::adapter::duckdb::Database;
use crate::compile::{compile_one, CompileContext, Compiled};
use crate::data_tests;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::manifest::{Node, ResourceType};
use crate::materialize;
use crate::render::Introspection;
use crate::warehouse::connection::Connection;
use output::Printer;

/// The outcome of one node, as dbt's run_results statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A model or seed was built.
    Success,
    /// A model, seed or test could not run (SQL error, compile error).
    Error,
    /// Not run because something upstream failed.
    Skipped,
    /// A test found no failing rows.
    Pass,
    /// A test crossed its `error_if` threshold.
    Fail,
    /// A test crossed its `warn_if` threshold (or failed with severity warn).
    Warn,
}

impl Status {
    /// Whether this status makes the command exit with 1.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Error | Status::Fail)
    }
}

/// One node's result.
#[derive(Debug, Clone)]
pub struct NodeResult {
    /// Position of the node in the manifest.
    pub index: usize,
    /// Outcome.
    pub status: Status,
    /// Human message (adapter response, error text, or skip reason).
    pub message: String,
    /// Failing rows for tests.
    pub failures: Option<i64>,
    /// Rows affected (seeds).
    pub rows: Option<i64>,
    /// Start and end of execution.
    pub started_at: DateTime<Utc>,
    /// End of execution.
    pub completed_at: DateTime<Utc>,
    /// Wall time in seconds.
    pub execution_time: f64,
    /// Worker that ran the node (`Thread-1`).
    pub thread_id: String,
    /// The error, for errors.
    pub error: Option<String>,
}

impl NodeResult {
    /// A result for node `index` with `status`, starting and ending now.
    pub fn new(index: usize, status: Status, thread_id: &str) -> NodeResult {
        let now = Utc::now();
        NodeResult {
            index,
            status,
            message: String::new(),
            failures: None,
            rows: None,
            started_at: now,
            completed_at: now,
            execution_time: 0.0,
            thread_id: thread_id.to_owned(),
            error: None,
        }
    }
}

/// Options for [`execute`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Skip everything after the first failure.
    pub fail_fast: bool,
    /// Rebuild seeds from scratch.
    pub full_refresh: bool,
    /// `build` semantics: failing tests skip what is downstream of the tested node.
    pub build: bool,
    /// The snapshot time of this invocation (UTC; `SLUICE_SNAPSHOT_TIME` pins it).
    pub snapshot_time: chrono::NaiveDateTime,
    /// `snapshot --dry-run`: report what snapshots would change, and roll back.
    pub dry_run: bool,
}

struct Sched {
    ready: BinaryHeap<Reverse<(usize, usize)>>,
    waiting: Vec<usize>,
    skip_because: HashMap<usize, String>,
    results: Vec<NodeResult>,
    started: usize,
    running: usize,
    aborted: bool,
}

/// Runs `selected` nodes (positions in `manifest`) and returns their
/// results in the order they finished.
///
/// `catalog` is what the warehouse held when the run started.
/// `compiled` holds the compile result of every selected model and test;
/// those marked [`Compiled::introspective`] are compiled again on a live
/// connection right before they run, as dbt compiles each node just before
/// running it.
/// Errors: only a failure to open connections; node failures are results.
#[allow(clippy::too_many_arguments)]
pub fn execute(
    cx: &CompileContext,
    graph: &Graph,
    db: &Database,
    catalog: Arc<crate::adapter::duckdb::Catalog>,
    selected: &BTreeSet<usize>,
    compiled: &HashMap<usize, Result<Compiled>>,
    options: &RunOptions,
    printer: &Printer,
) -> Result<Vec<NodeResult>> {
    let manifest = cx.manifest;
    let renderer = cx.renderer;
    let runnable: BTreeSet<usize> = selected
        .iter()
        .copied()
        .filter(|&i| runs(&manifest.nodes[i]))
        .collect();
    // Scheduling edges: graph parents among runnable nodes, plus build's test edges.
    let mut parents: BTreeMap<usize, BTreeSet<usize>> =
        runnable.iter().map(|&i| (i, BTreeSet::new())).collect();
    for &i in &runnable {
        // Sources and ephemerals never run, but what they read may (a source
        // can stand for a seed, see manifest): look through them.
        // A unit test reads fixtures, not its model: it waits for the
        // model's parents (whose column types type the fixtures), as dbt.
        let mut stack: Vec<usize> = if manifest.nodes[i].resource_type == ResourceType::UnitTest {
            graph.parents(i).flat_map(|m| graph.parents(m)).collect()
        } else {
            graph.parents(i).collect()
        };
        let mut seen = BTreeSet::new();
        while let Some(p) = stack.pop() {
            if !seen.insert(p) {
                continue;
            }
            if runnable.contains(&p) {
                parents.get_mut(&i).expect("runnable").insert(p);
            } else if !runs(&manifest.nodes[p]) {
                stack.extend(graph.parents(p));
            }
        }
    }
    if options.build {
        for (t, c) in graph.build_test_edges(manifest, &runnable) {
            parents.get_mut(&c).expect("runnable").insert(t);
        }
        // dbt build runs a model's unit tests first; one failing skips the model.
        for &t in &runnable {
            if manifest.nodes[t].resource_type == ResourceType::UnitTest {
                for m in graph.parents(t) {
                    if let Some(ps) = parents.get_mut(&m) {
                        ps.insert(t);
                    }
                }
            }
        }
    }
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&c, ps) in &parents {
        for &p in ps {
            children.entry(p).or_default().push(c);
        }
    }
    // Priority: depth in the DAG, then unique_id order, so output is stable with one thread.
    let mut depth: HashMap<usize, usize> = HashMap::new();
    let order = topo(&parents);
    if order.len() != parents.len() {
        // The graph was checked for cycles; scheduling edges (build's test
        // edges) must not add one, or the run would wait forever.
        return Err(Error::new(
            crate::ErrorKind::Cycle,
            "the run's scheduling edges form a cycle (a bug in sluice: please report it)",
        ));
    }
    for &i in order.iter() {
        let d = parents[&i].iter().map(|p| depth[p] + 1).max().unwrap_or(0);
        depth.insert(i, d);
    }
    let mut waiting = vec![0usize; manifest.nodes.len()];
    let mut ready = BinaryHeap::new();
    for (&i, ps) in &parents {
        waiting[i] = ps.len();
        if ps.is_empty() {
            ready.push(Reverse((depth[&i], i)));
        }
    }
    let total = runnable.len();
    let state = Mutex::new(Sched {
        ready,
        waiting,
        skip_because: HashMap::new(),
        results: Vec::with_capacity(total),
        started: 0,
        running: 0,
        aborted: false,
    });
    let wake = Condvar::new();
    let threads = options.threads.max(1).min(total.max(1));
    // `catalog`: one snapshot for the run; per-model information_schema
    // lookups would cost more than building the models (see adapter::duckdb::Catalog).
    // Create each schema the run writes to once, not once per node.
    let setup = db.connect()?;
    let mut schemas = BTreeSet::new();
    for &i in &runnable {
        let node = &manifest.nodes[i];
        if let (Some(rel), ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot) =
            (&node.relation, node.resource_type)
        {
            if schemas.insert((rel.database.clone(), rel.schema.clone())) {
                materialize::ensure_schema(renderer, &setup, rel)?;
            }
        }
    }
    let connections: Vec<_> = (0..threads)
        .map(|_| db.connect_cached(catalog.clone()))
        .collect::<Result<_>>()?;
    // Statements run while compiling go through a connection of their own
    // (without the catalog cache: they may see relations hooks created).
    let introspective = compiled
        .values()
        .any(|c| c.as_ref().is_ok_and(|c| c.introspective));
    let live: Vec<Option<Introspection>> = (0..threads)
        .map(|_| -> Result<Option<Introspection>> {
            if !introspective {
                return Ok(None);
            }
            let conn: Box<dyn Connection> = Box::new(db.connect()?);
            Ok(Some(Introspection::Live(Arc::new(Mutex::new(conn)))))
        })
        .collect::<Result<_>>()?;

    std::thread::scope(|s| {
        for (t, (conn, live)) in connections.into_iter().zip(live).enumerate() {
            let state = &state;
            let wake = &wake;
            let children = &children;
            let depth = &depth;
            s.spawn(move || {
                let thread_id = format!("Thread-{}", t + 1);
                loop {
                    let (i, n, skip) = {
                        let mut st = state.lock().expect("scheduler lock");
                        loop {
                            if st.results.len() == total {
                                wake.notify_all();
                                return;
                            }
                            if let Some(Reverse((_, i))) = st.ready.pop() {
                                st.started += 1;
                                st.running += 1;
                                let skip = st
                                    .skip_because
                                    .get(&i)
                                    .cloned()
                                    .or_else(|| st.aborted.then(|| "fail-fast".to_owned()));
                                break (i, st.started, skip);
                            }
                            st = wake.wait(st).expect("scheduler lock");
                        }
                    };
                    let node = &manifest.nodes[i];
                    let result = match skip {
                        Some(reason) => {
                            printer.skip(n, total, node, &reason);
                            NodeResult {
                                message: format!("skipped: {reason}"),
                                ..NodeResult::new(i, Status::Skipped, &thread_id)
                            }
                        }
                        None => {
                            printer.start(n, total, node);
                            let r = run_one(
                                cx,
                                &conn,
                                live.as_ref(),
                                i,
                                compiled.get(&i),
                                options,
                                &thread_id,
                            );
                            printer.finish(n, total, node, &r);
                            r
                        }
                    };
                    let mut st = state.lock().expect("scheduler lock");
                    st.running -= 1;
                    let failed = result.status.is_failure() || result.status == Status::Skipped;
                    if result.status.is_failure() && options.fail_fast {
                        st.aborted = true;
                    }
                    if let Some(cs) = children.get(&i) {
                        for &c in cs {
                            if failed {
                                let reason = if result.status == Status::Skipped {
                                    st.skip_because
                                        .get(&i)
                                        .cloned()
                                        .unwrap_or_else(|| "upstream failure".into())
                                } else {
                                    format!(
                                        "upstream `{}` {}",
                                        node.name,
                                        if result.status == Status::Fail {
                                            "failed"
                                        } else {
                                            "errored"
                                        }
                                    )
                                };
                                st.skip_because.entry(c).or_insert(reason);
                            }
                            st.waiting[c] -= 1;
                            if st.waiting[c] == 0 {
                                st.ready.push(Reverse((depth[&c], c)));
                            }
                        }
                    }
                    st.results.push(result);
                    wake.notify_all();
                }
            });
        }
    });
    let st = state.into_inner().expect("scheduler lock");
    Ok(st.results)
}

/// Whether a node is executed: sources, analyses and ephemeral models are
/// not (ephemerals are inlined as CTEs into the nodes that ref them).
fn runs(node: &Node) -> bool {
    match node.resource_type {
        ResourceType::Source | ResourceType::Analysis => false,
        ResourceType::Model => node.config.materialized() != "ephemeral",
        _ => true,
    }
}

/// A topological order of the scheduling graph (Kahn's algorithm).
fn topo(parents: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<usize> {
    let mut indeg: HashMap<usize, usize> = parents.iter().map(|(&i, ps)| (i, ps.len())).collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&c, ps) in parents {
        for &p in ps {
            children.entry(p).or_default().push(c);
        }
    }
    let mut queue: Vec<usize> = indeg
        .iter()
        .filter(|(_, &d)| d == 0)
        .map(|(&i, _)| i)
        .collect();
    queue.sort_unstable();
    let mut order = Vec::with_capacity(parents.len());
    while let Some(i) = queue.pop() {
        order.push(i);
        for &c in children.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
            let d = indeg.get_mut(&c).expect("child");
            *d -= 1;
            if *d == 0 {
                queue.push(c);
            }
        }
    }
    order
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    cx: &CompileContext,
    conn: &dyn Connection,
    live: Option<&Introspection>,
    i: usize,
    compiled: Option<&Result<Compiled>>,
    options: &RunOptions,
    thread_id: &str,
) -> NodeResult {
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
    let outcome = run_node(cx, conn, node, compiled, options);
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
            result.message = match status {
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
            result.status = Status::Error;
            result.message = e.message().to_owned();
            result.error = Some(e.render());
        }
    }
    result
}

enum NodeOutcome {
    Built(materialize::Outcome),
    UnitTested(crate::unit_tests::UnitTestOutcome),
    Tested { failures: i64, status: Status },
}

fn run_node(
    cx: &CompileContext,
    conn: &dyn Connection,
    node: &Node,
    compiled: Option<&Result<Compiled>>,
    options: &RunOptions,
) -> Result<NodeOutcome> {
    let (manifest, renderer, project_root) = (cx.manifest, cx.renderer, cx.project_root);
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
            materialize::run_seed(renderer, conn, node, project_root, options.full_refresh)
                .map(NodeOutcome::Built)
        }
        ResourceType::Model => {
            let c = code()?;
            // Hooks run around the materialization, outside its transaction.
            for hook in &c.pre_hooks {
                conn.execute(hook)
                    .map_err(|e| e.with_note("in a pre-hook"))?;
            }
            let built = match node.config.materialized().as_str() {
                "incremental" => materialize::incremental::run(
                    renderer,
                    conn,
                    node,
                    &c.code,
                    options.full_refresh,
                ),
                "external" => {
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
            for hook in &c.post_hooks {
                conn.execute(hook)
                    .map_err(|e| e.with_note("in a post-hook"))?;
            }
            Ok(NodeOutcome::Built(built))
        }
        ResourceType::Test => {
            let c = code()?;
            let main_sql = materialize::strip_trailing_semicolons(&c.code);
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
            materialize::snapshot::run(renderer, conn, node, &c.code, run)
                .map(NodeOutcome::Built)
                .map_err(|e| locate_in_template(e, node, &c.code))
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

/// Counts of each status, for the summary line.
pub fn tally(results: &[NodeResult]) -> BTreeMap<&'static str, usize> {
    let mut t = BTreeMap::from([
        ("PASS", 0),
        ("WARN", 0),
        ("ERROR", 0),
        ("SKIP", 0),
        ("TOTAL", results.len()),
    ]);
    for r in results {
        let key = match r.status {
            Status::Success | Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Error | Status::Fail => "ERROR",
            Status::Skipped => "SKIP",
        };
        *t.get_mut(key).expect("key") += 1;
    }
    t
}

/// Where failures' compiled SQL was written, for the summary.
pub fn compiled_paths(compiled: &HashMap<usize, Result<Compiled>>) -> HashMap<usize, PathBuf> {
    compiled
        .iter()
        .filter_map(|(&i, c)| c.as_ref().ok().map(|c| (i, c.path.clone())))
        .collect()
}
