//! The `microbatch` incremental strategy, as dbt 1.9's: the model is
//! rendered once per batch of event time (`batch_size`), its inputs that
//! set `event_time` read through the batch's window, and each batch
//! replaces the table's rows of that window in a transaction of its own.
//! A failed batch leaves the others' rows in place; the model is then a
//! partial success, and `sluice retry` runs only the failed batches.
//!
//! On a first build or a full refresh, the first batch builds the table
//! (swapped in as `table` builds are) and the later ones add to it.

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::materialize::{relation_of, Outcome};
use crate::project::config::microbatch::{Batch, Microbatch};
use crate::render::{BatchScope, Renderer};
use crate::warehouse::connection::{Connection, RelationType};

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

/// Runs `batches` of microbatch model `node` (config `config`) in order on
/// `conn`. `render` gives the model's SQL for one batch (the runner
/// renders it with the batch's window); `adds` says whether the table
/// exists and is kept ([`adds_to_table`]). `locate` points a batch's
/// error into the model's file, given the batch's SQL.
///
/// Returns which batches succeeded and which failed: a batch's failure
/// does not stop the next ones, as dbt's.
///
/// Errors: the first batch's failure when it was to build the table
/// (nothing else can run without it).
pub fn run(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    config: &Microbatch,
    batches: &[Batch],
    adds: bool,
    render: &dyn Fn(&BatchScope) -> Result<String>,
    locate: &dyn Fn(Error, &str) -> Error,
) -> Result<BatchRun> {
    let mut run = BatchRun::default();
    for (n, batch) in batches.iter().enumerate() {
        let incremental = adds || n > 0;
        let scope = BatchScope {
            id: config.batch_size.batch_id(batch.start),
            start: batch.start,
            end: batch.end,
            incremental,
        };
        let result = render(&scope).and_then(|sql| {
            let applied = if incremental {
                super::incremental::apply_batch(
                    renderer,
                    conn,
                    node,
                    &sql,
                    &config.event_time,
                    batch,
                )
            } else {
                let mut as_table = node.clone();
                as_table
                    .config
                    .set("materialized", serde_json::Value::from("table"));
                super::run_model(renderer, conn, &as_table, &sql).map(|_: Outcome| ())
            };
            applied.map_err(|e| locate(e, &sql))
        });
        match result {
            Ok(()) => run.successful.push(*batch),
            Err(e) if !incremental => return Err(e),
            Err(e) => run.failed.push((*batch, e)),
        }
        if crate::warehouse::interrupt::interrupted() {
            // The batches not started count as failed, so `retry` runs them.
            for rest in &batches[n + 1..] {
                run.failed.push((
                    *rest,
                    Error::new(ErrorKind::Database, "interrupted before this batch started"),
                ));
            }
            break;
        }
    }
    Ok(run)
}
