//! The microbatch project's replay on another warehouse, shared by
//! tests/postgres.rs and tests/spark.rs (tests/microbatch.rs runs the
//! DuckDB side with more steps): a first build cut into daily batches, a
//! run whose day-2 batch fails (a partial success), and `retry` running
//! that batch alone. Each step's rows are what DuckDB leaves.

use super::Run;

/// `id, batch_id` of events_enriched after the first build at
/// 2024-01-03 12:00: one batch per day from `begin`.
pub const FIRST_BUILD: &[[&str; 2]] = &[
    ["1", "20240101"],
    ["2", "20240101"],
    ["3", "20240102"],
    ["4", "20240103"],
];

/// daily_totals after the first build: `day, events, doubled`.
pub const FIRST_TOTALS: &[[&str; 3]] = &[
    ["2024-01-01", "2", "60"],
    ["2024-01-02", "1", "60"],
    ["2024-01-03", "1", "80"],
];

/// `id, run_marker` after a run whose day-2 batch fails: lookback 1 ran
/// days 2 and 3, and day 2 rolled back.
pub const AFTER_FAILED_BATCH: &[[&str; 2]] = &[
    ["1", "first"],
    ["2", "first"],
    ["3", "first"],
    ["4", "second"],
];

/// `id, run_marker` after `retry`: only the failed batch ran again.
pub const AFTER_RETRY: &[[&str; 2]] = &[
    ["1", "first"],
    ["2", "first"],
    ["3", "retried"],
    ["4", "second"],
];

/// Runs the replay: `run(args, invocation_time)` runs sluice on the
/// warehouse's copy of tests/projects/microbatch, `rows(columns)` reads
/// events_enriched's `columns` and `totals()` daily_totals, each as sorted
/// canonical text.
pub fn replay(
    run: &dyn Fn(&[&str], &str) -> Run,
    rows: &dyn Fn(&str) -> Vec<Vec<String>>,
    totals: &dyn Fn() -> Vec<Vec<String>>,
) {
    let out = run(&["build", "-q"], "2024-01-03 12:00:00");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(rows("id, batch_id"), FIRST_BUILD);
    assert_eq!(totals(), FIRST_TOTALS);
    let failing = [
        "build",
        "-q",
        "--vars",
        "{fail_batch: '20240102', run_marker: second}",
    ];
    let out = run(&failing, "2024-01-03 12:00:00");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(rows("id, run_marker"), AFTER_FAILED_BATCH);
    let retry = ["retry", "-q", "--vars", "{run_marker: retried}"];
    let out = run(&retry, "2024-03-01 00:00:00");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(rows("id, run_marker"), AFTER_RETRY);
}
