//! The `microbatch` incremental strategy, as dbt 1.9's: the model is
//! rendered once per batch of event time (`batch_size`), its inputs that
//! set `event_time` read through the batch's window, and each batch
//! replaces the table's rows of that window in a transaction of its own.
//! A failed batch leaves the others' rows in place; the model is then a
//! partial success, and `sluice retry` runs only the failed batches.
//!
//! On a first build or a full refresh, the first batch builds the table
//! (swapped in as `table` builds are) and the later ones add to it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::materialize::incremental::KnownColumns;
use crate::materialize::{relation_of, Outcome};
use crate::project::config::microbatch::{Batch, Microbatch};
use crate::render::{BatchScope, Renderer};
use crate::warehouse::connection::{Connection, RelationType};
use crate::warehouse::interrupt::interrupted;

/// What one microbatch model's run did.
#[derive(Debug, Default)]
pub struct BatchRun {
    /// Batches whose rows are now in the table, in order.
    pub successful: Vec<Batch>,
    /// Batches that failed, each with its error, in order.
    pub failed: Vec<(Batch, Error)>,
}

/// Whether a microbatch model's batches add to its existing table (it
/// exists as a table and is not being fully refreshed), as dbt's
/// `is_incremental` for the run; otherwise the run starts at `begin`.
///
/// Errors: warehouse errors looking the table up.
pub fn adds_to_table(conn: &dyn Connection, node: &Node, full_refresh_flag: bool) -> Result<bool> {
    let exists = conn.relation_type(relation_of(node)?)? == Some(RelationType::Table);
    Ok(exists && !super::incremental::full_refresh(node, full_refresh_flag))
}

/// Runs `batches` of microbatch model `node` (config `config`) on `conn`.
/// `render` gives the model's SQL for one batch (the runner renders it
/// with the batch's window); `adds` says whether the table exists and is
/// kept ([`adds_to_table`]). `locate` points a batch's error into the
/// model's file, given the batch's SQL.
///
/// With `spare` connections (lent, and given back), the batches between the first and the last
/// run concurrently on `conn` and those, as dbt's `concurrent_batches`
/// (the first runs alone, as it may build the table, and the last runs
/// after the others); without, all run in order.
///
/// Returns which batches succeeded and which failed, in batch order: a
/// batch's failure does not stop the others, as dbt's.
///
/// Errors: the first batch's failure when it was to build the table
/// (nothing else can run without it).
#[allow(clippy::too_many_arguments)]
pub fn run(
    renderer: &Renderer,
    conn: &dyn Connection,
    spare: &mut Vec<Box<dyn Connection>>,
    node: &Node,
    config: &Microbatch,
    batches: &[Batch],
    adds: bool,
    render: &(dyn Fn(&BatchScope) -> Result<String> + Sync),
    locate: &(dyn Fn(Error, &str) -> Error + Sync),
) -> Result<BatchRun> {
    let one = |conn: &dyn Connection, n: usize, known: &mut Option<KnownColumns>| {
        let batch = &batches[n];
        let incremental = adds || n > 0;
        let scope = BatchScope {
            id: config.batch_size.batch_id(batch.start),
            start: batch.start,
            end: batch.end,
            incremental,
        };
        render(&scope).and_then(|sql| {
            let applied = if incremental {
                super::incremental::apply_batch(
                    renderer,
                    conn,
                    node,
                    &sql,
                    &config.event_time,
                    batch,
                    known,
                )
            } else {
                let mut as_table = node.clone();
                as_table
                    .config
                    .set("materialized", serde_json::Value::from("table"));
                super::run_model(renderer, conn, &as_table, &sql).map(|_: Outcome| ())
            };
            applied.map_err(|e| locate(e, &sql))
        })
    };
    let mut outcomes: Vec<Option<Result<()>>> = (0..batches.len()).map(|_| None).collect();
    let mut known = None;
    if batches.is_empty() {
        return Ok(BatchRun::default());
    }
    match one(conn, 0, &mut known) {
        Err(e) if !adds => return Err(e),
        r => outcomes[0] = Some(r),
    }
    let last = batches.len() - 1;
    if last > 1 && !spare.is_empty() {
        // The middle batches, each taken by the next free connection.
        let next = AtomicUsize::new(1);
        let done = Mutex::new(Vec::new());
        let work = |conn: &dyn Connection, mut known: Option<KnownColumns>| loop {
            let n = next.fetch_add(1, Ordering::SeqCst);
            if n >= last || interrupted() {
                break;
            }
            let r = one(conn, n, &mut known);
            if let Ok(mut d) = done.lock() {
                d.push((n, r));
            }
        };
        let returned: Vec<Box<dyn Connection>> = std::thread::scope(|scope| {
            let handles: Vec<_> = spare
                .drain(..)
                .map(|extra| {
                    let known = known.clone();
                    let work = &work;
                    scope.spawn(move || {
                        work(extra.as_ref(), known);
                        extra
                    })
                })
                .collect();
            work(conn, known.clone());
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        spare.extend(returned);
        for (n, r) in done.into_inner().unwrap_or_default() {
            outcomes[n] = Some(r);
        }
    } else {
        for (n, slot) in outcomes.iter_mut().enumerate().take(last).skip(1) {
            if interrupted() {
                break;
            }
            *slot = Some(one(conn, n, &mut known));
        }
    }
    if last > 0 && !interrupted() {
        outcomes[last] = Some(one(conn, last, &mut known));
    }
    let mut run = BatchRun::default();
    for (batch, outcome) in batches.iter().zip(outcomes) {
        match outcome {
            Some(Ok(())) => run.successful.push(*batch),
            Some(Err(e)) => run.failed.push((*batch, e)),
            // Not started (interrupted): failed, so `retry` runs it.
            None => run.failed.push((
                *batch,
                Error::new(ErrorKind::Database, "interrupted before this batch started"),
            )),
        }
    }
    Ok(run)
}
