//! What running a node gave: dbt's statuses and one node's result, as
//! run_results.json and the summary line report them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

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

    /// dbt's name for the status, as run_results.json writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
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
