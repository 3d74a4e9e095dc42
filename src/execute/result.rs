//! What running a node gave: dbt's statuses and one node's result, as
//! run_results.json and the summary line report them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::project::config::microbatch::Batch;

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
    /// A microbatch model some of whose batches failed (dbt 1.9): what is
    /// downstream is skipped, the command exits 1, and `retry` runs only
    /// the failed batches.
    #[serde(rename = "partial success")]
    PartialSuccess,
    /// A model with `freshness.build_after` left as it was: its inputs had
    /// no new data, or it was built less than `build_after` ago (dbt's
    /// state-aware orchestration). Its children run.
    Reused,
}

impl Status {
    /// Whether this status makes the command exit with 1.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Error | Status::Fail | Status::PartialSuccess)
    }

    /// dbt's name for the status, as run_results.json writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::PartialSuccess => "partial success",
            Status::Reused => "reused",
        }
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
    /// A microbatch model's batches, as run_results.json's `batch_results`.
    pub batch_results: Option<BatchResults>,
    /// A data test the tested model's grain proves (sluice's extension):
    /// the proof, and whether the test was executed anyway (it is not
    /// under `--skip-proven`).
    pub proof: Option<(String, bool)>,
}

/// Which batches of a microbatch model succeeded and which failed, as
/// dbt's `batch_results` (each batch `[start, end)`, UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchResults {
    /// Batches whose rows are in the table.
    pub successful: Vec<Batch>,
    /// Batches that failed; `retry` runs these.
    pub failed: Vec<Batch>,
}

impl BatchResults {
    /// run_results.json's `batch_results`: `{"successful": [[start, end],
    /// ...], "failed": [...]}` with ISO timestamps, as dbt writes them.
    pub fn to_json(&self) -> serde_json::Value {
        let list = |batches: &[Batch]| {
            batches
                .iter()
                .map(|b| serde_json::json!([Batch::iso(b.start), Batch::iso(b.end)]))
                .collect::<Vec<_>>()
        };
        serde_json::json!({
            "successful": list(&self.successful),
            "failed": list(&self.failed),
        })
    }

    /// Reads run_results.json's `batch_results` back (what [`Self::to_json`] wrote).
    pub fn from_json(value: &serde_json::Value) -> Option<BatchResults> {
        let list = |key: &str| -> Option<Vec<Batch>> {
            value
                .get(key)?
                .as_array()?
                .iter()
                .map(|pair| {
                    let bound = |i: usize| {
                        pair.get(i)
                            .and_then(|v| v.as_str())
                            .and_then(crate::project::config::microbatch::parse_datetime)
                    };
                    Some(Batch {
                        start: bound(0)?,
                        end: bound(1)?,
                    })
                })
                .collect()
        };
        Some(BatchResults {
            successful: list("successful")?,
            failed: list("failed")?,
        })
    }
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
            batch_results: None,
            proof: None,
        }
    }
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
            Status::Success | Status::Pass | Status::Reused => "PASS",
            Status::Warn => "WARN",
            Status::Error | Status::Fail | Status::PartialSuccess => "ERROR",
            Status::Skipped => "SKIP",
        };
        *t.get_mut(key).expect("key") += 1;
    }
    t
}
