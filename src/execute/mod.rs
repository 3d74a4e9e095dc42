//! The scheduler: selected nodes in dependency order on `--threads`
//! workers, with dbt's statuses, skip rules and summary. What running one
//! node means is given by the caller ([`crate::runner`]).
//!
//! A node starts when all its selected parents have finished. When a node
//! errors (or a test fails), everything downstream of it is skipped; in
//! `build`, a failing test also skips what is downstream of the node it
//! tests. With `--fail-fast`, the first failure skips everything not yet started.

pub mod output;
pub mod result;

pub use result::{tally, NodeResult, Status};

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::manifest::{Manifest, Node, ResourceType};
use crate::warehouse::interrupt;
use output::Printer;

/// The stack size of the threads that parse, render and compile (the
/// binary's main work thread, rayon's pool, the run's workers), in bytes:
/// deep SQL (thousands of `union all` branches) and deep Jinja recurse far
/// past the default 2-8 MiB. Only the pages a thread touches are committed.
pub const DEEP_STACK: usize = 1 << 30;

/// Gives rayon's global pool (the threads that render and parse models in
/// parallel) [`DEEP_STACK`]-sized stacks. Call once, before any parallel
/// work: the binary's `main` does, and so must anything that runs commands
/// in-process (the fuzz and fixture tests). A later call, or one after the
/// pool exists, changes nothing.
pub fn init_deep_stacks() {
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(DEEP_STACK)
        .build_global();
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
    /// `--warn-error`: a data test that would warn fails instead.
    pub warn_error: bool,
    /// How microbatch models pick their batches.
    pub microbatch: MicrobatchOptions,
    /// `--skip-proven`: data tests the grain proves are not executed.
    pub skip_proven: bool,
}

/// How this invocation's microbatch models pick their batches, as dbt's.
#[derive(Debug, Clone, Default)]
pub struct MicrobatchOptions {
    /// The invocation's start (UTC; `SLUICE_INVOCATION_TIME` pins it): the
    /// last batch ends at it, moved up to a batch boundary.
    pub now: chrono::NaiveDateTime,
    /// `--event-time-start`: the first batch starts here instead.
    pub event_time_start: Option<chrono::NaiveDateTime>,
    /// `--event-time-end`: the last batch ends here instead.
    pub event_time_end: Option<chrono::NaiveDateTime>,
    /// `retry`: the batches to run for each model (by unique_id) that was
    /// a partial success, instead of the ones the clock gives.
    pub retry: HashMap<String, result::BatchResults>,
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

/// Runs the `selected` nodes of `manifest` (positions) in dependency order
/// on up to `options.threads` workers and returns their results in the
/// order they finished. Each worker is made by `make_worker` (a warehouse
/// connection, say) and runs one node at a time through `run(worker, i,
/// thread_id)`; what running a node means is the caller's
/// (`crate::runner`). Skips (a failed parent, `--fail-fast`) are decided
/// here and never reach `run`.
///
/// Errors: only `make_worker`'s; node failures are results.
pub fn execute<W: Send>(
    manifest: &Manifest,
    graph: &Graph,
    selected: &BTreeSet<usize>,
    options: &RunOptions,
    printer: &Printer,
    make_worker: &dyn Fn() -> Result<W>,
    run: &(dyn Fn(&W, usize, &str) -> NodeResult + Sync),
) -> Result<Vec<NodeResult>> {
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
            crate::ErrorKind::Internal,
            "the run's scheduling edges form a cycle",
        )
        .with_hint("this is a bug in sluice: please report it with the command and the project's dbt_project.yml"));
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
    let workers: Vec<W> = (0..threads).map(|_| make_worker()).collect::<Result<_>>()?;
    // On a terminal, a long run shows a bar instead of two lines a node.
    let bar = printer.progress_bar(total);
    let bar = bar.as_ref();

    let mut spawn_error: Option<String> = None;
    std::thread::scope(|s| {
        for (t, worker) in workers.into_iter().enumerate() {
            let state = &state;
            let wake = &wake;
            let children = &children;
            let depth = &depth;
            let spawned = std::thread::Builder::new()
                .name(format!("Thread-{}", t + 1))
                .stack_size(DEEP_STACK)
                .spawn_scoped(s, move || {
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
                                        .or_else(|| st.aborted.then(|| "fail-fast".to_owned()))
                                        .or_else(|| {
                                            interrupt::interrupted().then(|| {
                                                "cancelled: the run was interrupted".to_owned()
                                            })
                                        });
                                    break (i, st.started, skip);
                                }
                                st = wake.wait(st).expect("scheduler lock");
                            }
                        };
                        let node = &manifest.nodes[i];
                        let result = match skip {
                            Some(reason) => {
                                match bar {
                                    Some(bar) => bar.inc(),
                                    None => printer.skip(n, total, node, &reason),
                                }
                                NodeResult {
                                    message: format!("skipped: {reason}"),
                                    ..NodeResult::new(i, Status::Skipped, &thread_id)
                                }
                            }
                            None => {
                                if bar.is_none() {
                                    printer.start(n, total, node);
                                }
                                let r = run(&worker, i, &thread_id);
                                printer.finish_with(bar, n, total, node, &r);
                                r
                            }
                        };
                        let mut st = state.lock().expect("scheduler lock");
                        st.running -= 1;
                        // dbt 1.12's `on_error: continue`: a model's own
                        // failure does not skip what is downstream of it.
                        let continues = result.status.is_failure()
                            && node.resource_type == crate::manifest::ResourceType::Model
                            && node.config.get_str("on_error").as_deref() == Some("continue");
                        let failed = (result.status.is_failure() && !continues)
                            || result.status == Status::Skipped;
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
            if let Err(e) = spawned {
                spawn_error.get_or_insert(e.to_string());
                break;
            }
        }
    });
    if let Some(e) = spawn_error {
        return Err(Error::new(
            crate::ErrorKind::Internal,
            format!("could not start a worker thread: {e}"),
        ));
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    let st = state.into_inner().expect("scheduler lock");
    Ok(st.results)
}

/// Whether a node is executed: sources, analyses and ephemeral models are
/// not (ephemerals are inlined as CTEs into the nodes that ref them).
pub fn runs(node: &Node) -> bool {
    match node.resource_type {
        ResourceType::Source | ResourceType::Analysis => false,
        ResourceType::Model => !node.config.is_ephemeral(),
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
