//! The `microbatch` incremental strategy (dbt 1.9), end to end on real
//! DuckDB files: which batches run, what each batch reads, late rows
//! within `lookback`, partial success and `retry` of the failed batches
//! only, and the property that batches give what a full refresh gives.
//! The clock is pinned with `SLUICE_INVOCATION_TIME`.

mod common;

use common::{Rng, Run, TempProject};

const PROJECT: &str = "tests/projects/microbatch";

fn build(p: &TempProject, now: &str, extra: &[&str]) -> Run {
    let mut args = vec!["build", "-q"];
    args.extend_from_slice(extra);
    p.sluice_env(&args, &[("SLUICE_INVOCATION_TIME", now)])
}

fn rows(p: &TempProject, sql: &str) -> Vec<Vec<String>> {
    p.query(sql)
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_default()).collect())
        .collect()
}

fn run_results(p: &TempProject) -> serde_json::Value {
    serde_json::from_str(&p.read("target/run_results.json")).unwrap()
}

fn result_of<'a>(results: &'a serde_json::Value, unique_id: &str) -> &'a serde_json::Value {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == unique_id)
        .unwrap_or_else(|| panic!("no result for {unique_id}"))
}

/// As dbt: the first build runs one batch per day from `begin` to the
/// invocation's day; each batch's `model.batch.id` is its day and it reads
/// only its day of the refs that set `event_time`; the batches are
/// listed in run_results.json's `batch_results`.
#[test]
fn first_build_runs_a_batch_per_day_from_begin() {
    let p = TempProject::copy_of(PROJECT);
    let out = build(&p, "2024-01-03 12:00:00", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rows(
            &p,
            "select id, batch_id from main.events_enriched order by id"
        ),
        [
            ["1", "20240101"],
            ["2", "20240101"],
            ["3", "20240102"],
            ["4", "20240103"]
        ]
    );
    assert_eq!(
        rows(
            &p,
            "select day::varchar, events, doubled from main.daily_totals order by day"
        ),
        [
            ["2024-01-01", "2", "60"],
            ["2024-01-02", "1", "60"],
            ["2024-01-03", "1", "80"]
        ]
    );
    let results = run_results(&p);
    let r = result_of(&results, "model.microbatch.events_enriched");
    assert_eq!(r["status"], "success");
    assert_eq!(
        r["batch_results"]["successful"][0],
        serde_json::json!(["2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00"])
    );
    assert_eq!(
        r["batch_results"]["successful"].as_array().unwrap().len(),
        3
    );
    assert_eq!(r["batch_results"]["failed"], serde_json::json!([]));
}

/// As dbt's `lookback`: a later run reprocesses the current batch and the
/// one before it, so a late row of yesterday is picked up; a late row of
/// an older day is not (until a run reaches back to it); rows outside the
/// window are left as they were.
#[test]
fn incremental_run_reprocesses_lookback_batches_only() {
    let p = TempProject::copy_of(PROJECT);
    assert_eq!(build(&p, "2024-01-03 12:00:00", &[]).code, 0);
    p.write(
        "seeds/events.csv",
        "id,ts,amount\n1,2024-01-01 03:00:00,10\n2,2024-01-01 22:00:00,20\n\
         3,2024-01-02 05:00:00,30\n4,2024-01-03 10:00:00,40\n\
         5,2024-01-03 23:00:00,50\n6,2024-01-01 12:00:00,60\n7,2024-01-04 01:00:00,70\n",
    );
    let out = build(
        &p,
        "2024-01-04 12:00:00",
        &["--vars", "{run_marker: second}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rows(
            &p,
            "select id, batch_id, run_marker from main.events_enriched order by id"
        ),
        [
            ["1", "20240101", "first"],
            ["2", "20240101", "first"],
            ["3", "20240102", "first"],
            ["4", "20240103", "second"],
            ["5", "20240103", "second"],
            ["7", "20240104", "second"],
        ],
        "day 3 (lookback) and day 4 are rebuilt; the late row of day 1 is not read"
    );
    // --event-time-start/--event-time-end reprocess exactly that window, as dbt's flags.
    let out = build(
        &p,
        "2024-01-04 12:00:00",
        &[
            "--event-time-start",
            "2024-01-01",
            "--event-time-end",
            "2024-01-02",
            "--vars",
            "{run_marker: backfill}",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rows(
            &p,
            "select id, run_marker from main.events_enriched where ts < '2024-01-02' order by id"
        ),
        [["1", "backfill"], ["2", "backfill"], ["6", "backfill"]]
    );
    assert_eq!(
        p.scalar("select count(*) from main.events_enriched where run_marker = 'backfill'"),
        3
    );
    let bad = build(
        &p,
        "2024-01-04 12:00:00",
        &[
            "--event-time-start",
            "2024-01-05",
            "--event-time-end",
            "2024-01-02",
        ],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("must be before"), "{}", bad.stderr);
}

/// As dbt 1.9: a failed batch does not stop the others; the model is a
/// `partial success` (exit 1, its children skipped), run_results.json
/// lists the failed batch, and `retry` runs that batch alone, keeping the
/// rows of the batches that had succeeded.
#[test]
fn failed_batch_is_partial_success_and_retry_runs_only_it() {
    let p = TempProject::copy_of(PROJECT);
    assert_eq!(build(&p, "2024-01-03 12:00:00", &[]).code, 0);
    let out = build(
        &p,
        "2024-01-03 12:00:00",
        &[
            "--event-time-start",
            "2024-01-01",
            "--vars",
            "{fail_batch: '20240102', run_marker: second}",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("models/events_enriched.sql:"),
        "{}",
        out.stderr
    );
    let results = run_results(&p);
    let r = result_of(&results, "model.microbatch.events_enriched");
    assert_eq!(r["status"], "partial success");
    assert_eq!(
        r["batch_results"]["failed"],
        serde_json::json!([["2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00"]])
    );
    assert_eq!(
        r["batch_results"]["successful"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        result_of(&results, "model.microbatch.daily_totals")["status"],
        "skipped"
    );
    // The failed batch's rows are those of the run before: its transaction rolled back.
    assert_eq!(
        rows(
            &p,
            "select id, run_marker from main.events_enriched order by id"
        ),
        [
            ["1", "second"],
            ["2", "second"],
            ["3", "first"],
            ["4", "second"]
        ]
    );
    let retry = p.sluice_env(
        &["retry", "-q", "--vars", "{run_marker: retried}"],
        &[("SLUICE_INVOCATION_TIME", "2024-02-01 00:00:00")],
    );
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(
        rows(
            &p,
            "select id, run_marker from main.events_enriched order by id"
        ),
        [
            ["1", "second"],
            ["2", "second"],
            ["3", "retried"],
            ["4", "second"]
        ],
        "only the failed batch ran again, on its own dates, not the clock's"
    );
    let results = run_results(&p);
    let r = result_of(&results, "model.microbatch.events_enriched");
    assert_eq!(r["status"], "success");
    assert_eq!(
        r["batch_results"]["successful"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        result_of(&results, "model.microbatch.daily_totals")["status"],
        "success"
    );
}

/// dbt checks a microbatch model's config when parsing: a missing `begin`
/// is an error located in the model's file, with a hint (exit 2).
#[test]
fn missing_begin_is_a_located_config_error() {
    let p = TempProject::copy_of(PROJECT);
    p.write(
        "models/daily_totals.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day') }}\nselect 1 as day\n",
    );
    let out = p.sluice(&["build"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("needs `begin`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("models/daily_totals.sql:1:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

/// The property the issue asks for: rows arriving in a random order, each
/// at most `lookback` days late, processed by one microbatch run a day,
/// give exactly the tables a full refresh gives from the same data.
#[test]
fn batches_equal_a_full_refresh_whatever_the_arrival_order() {
    for seed in [7_u64, 1_234, 99_991] {
        let mut rng = Rng(seed);
        let p = TempProject::copy_of(PROJECT);
        let lookback = 1 + rng.below(2);
        let days = 8;
        // (id, day, hour, amount, arrival day)
        let mut events = Vec::new();
        for id in 0..60 {
            let day = rng.below(days);
            let late = rng.below(lookback + 1);
            events.push((id, day, rng.below(24), rng.below(100), day + late));
        }
        let vars = format!("{{lookback: {lookback}}}");
        for today in 0..days + lookback {
            // The rows that have arrived by today, in a random order.
            let mut arrived: Vec<_> = events.iter().filter(|e| e.4 <= today).collect();
            for i in (1..arrived.len()).rev() {
                arrived.swap(i, rng.below(i + 1));
            }
            let mut csv = String::from("id,ts,amount\n");
            for (id, day, hour, amount, _) in arrived {
                csv.push_str(&format!(
                    "{id},2024-01-{:02} {hour:02}:30:00,{amount}\n",
                    day + 1
                ));
            }
            p.write("seeds/events.csv", &csv);
            let now = format!("2024-01-{:02} 18:00:00", today + 1);
            let out = build(&p, &now, &["--vars", &vars]);
            assert_eq!(out.code, 0, "seed {seed}, day {today}: {}", out.stderr);
        }
        let by_batches = (
            rows(
                &p,
                "select id, ts::varchar, doubled from main.events_enriched order by id",
            ),
            rows(
                &p,
                "select day::varchar, events, doubled from main.daily_totals order by day",
            ),
        );
        let now = format!("2024-01-{:02} 18:00:00", days + lookback);
        let out = build(&p, &now, &["--full-refresh", "--vars", &vars]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let full = (
            rows(
                &p,
                "select id, ts::varchar, doubled from main.events_enriched order by id",
            ),
            rows(
                &p,
                "select day::varchar, events, doubled from main.daily_totals order by day",
            ),
        );
        assert_eq!(by_batches, full, "seed {seed}, lookback {lookback}");
        assert_eq!(
            full.0.len(),
            events.len(),
            "seed {seed}: every event is in the table"
        );
    }
}

/// dbt 1.10's `--sample`: models read each input that sets `event_time`
/// only within the window (relative to the invocation's time, or given as
/// start/end); seeds themselves load whole.
#[test]
fn sample_reads_event_time_inputs_within_the_window() {
    let p = TempProject::copy_of(PROJECT);
    p.write(
        "models/recent.sql",
        "{{ config(materialized='table') }}\nselect id from {{ ref('events') }}\n",
    );
    let ids = |p: &TempProject| rows(p, "select id from main.recent order by id");
    let out = build(&p, "2024-01-03 12:00:00", &["--sample", "1 day"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ids(&p), [["4"]]);
    assert_eq!(p.scalar("select count(*) from main.events"), 4);
    let out = build(
        &p,
        "2024-01-03 12:00:00",
        &["--sample", "{start: 2024-01-01, end: 2024-01-02}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ids(&p), [["1"], ["2"]]);
    let bad = build(&p, "2024-01-03 12:00:00", &["--sample", "3 fortnights"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("hint:"), "{}", bad.stderr);
}
