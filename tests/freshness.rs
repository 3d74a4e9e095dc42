//! `sluice source freshness` end to end on the example project's seeds,
//! with the clock pinned by `SLUICE_FRESHNESS_TIME`. Each test names the
//! dbt behaviour it pins (dbt-core's `source freshness` task and its
//! sources.json, schema v3).

mod common;

use common::TempProject;

/// The newest `order_date` in raw_orders is 2024-11-26 (the newest
/// `placed` order 2024-11-07): five days before the pinned clock.
const NOW: &str = "2024-12-01 00:00:00";

const SOURCES: &str = r#"version: 2
sources:
  - name: loads
    schema: "{{ target.schema }}_raw"
    config:
      freshness:
        error_after: {count: 90, period: day}
      loaded_at_field: "cast(order_date as timestamp)"
    tables:
      - name: pass_orders
        identifier: raw_orders
        freshness:
          warn_after: {count: 7, period: day}
      - name: warn_orders
        identifier: raw_orders
        freshness:
          warn_after: {count: 1, period: day}
      - name: stale_orders
        identifier: raw_orders
        config:
          freshness:
            error_after: {count: 2, period: day}
      - name: placed_orders
        identifier: raw_orders
        freshness:
          warn_after: {count: 7, period: day}
          filter: "status = 'placed'"
      - name: missing
        identifier: no_such_table
      - name: unchecked
        identifier: raw_orders
        freshness: null
  - name: unstamped
    schema: "{{ target.schema }}_raw"
    freshness:
      warn_after: {count: 1, period: day}
    tables:
      - name: customers
        identifier: raw_customers
"#;

fn project() -> TempProject {
    let p = TempProject::new();
    p.write("models/staging/_freshness.yml", SOURCES);
    let seed = p.sluice(&["seed", "-q"]);
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    p
}

/// sources.json with what changes per run (ids, clocks of the run itself)
/// replaced, pretty-printed for a snapshot.
fn stable_sources_json(p: &TempProject, rel: &str) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(&p.read(rel)).unwrap();
    for key in ["generated_at", "invocation_id"] {
        doc["metadata"][key] = "[redacted]".into();
    }
    doc["elapsed_time"] = "[redacted]".into();
    for r in doc["results"].as_array_mut().unwrap() {
        if r.get("timing").is_some() {
            r["timing"] = "[redacted]".into();
            r["execution_time"] = "[redacted]".into();
        }
    }
    serde_json::to_string_pretty(&doc).unwrap()
}

/// As dbt: every selected source table with a threshold is checked in one
/// line each (`PASS`, `WARN`, `ERROR STALE`, `ERROR`); error_after is
/// judged before warn_after; a table's thresholds merge into its source's
/// (`merge_freshness`), `freshness: null` skips it, the `filter` applies
/// before the maximum; a failed check is `runtime error` in sources.json;
/// any error exits 1.
#[test]
fn source_freshness_judges_each_table_and_writes_sources_json() {
    let p = project();
    let out = p.sluice_env(&["source", "freshness"], &[("SLUICE_FRESHNESS_TIME", NOW)]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let lines = |word: &str| {
        out.stderr
            .lines()
            .filter(|l| l.contains(&format!(" {word} freshness of ")))
            .map(|l| {
                l.split(" freshness of ")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(lines("PASS"), ["loads.pass_orders"]);
    assert_eq!(lines("WARN"), ["loads.placed_orders", "loads.warn_orders"]);
    assert_eq!(lines("ERROR STALE"), ["loads.stale_orders"]);
    assert_eq!(lines("ERROR"), ["loads.missing", "unstamped.customers"]);
    assert!(!out.stderr.contains("unchecked"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Done. PASS=1 WARN=2 ERROR=3 SKIP=0 TOTAL=6"),
        "{}",
        out.stderr
    );
    // The failed checks are located in the YAML, with a hint.
    assert!(
        out.stderr.contains("models/staging/_freshness.yml:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no_such_table"), "{}", out.stderr);
    assert!(
        out.stderr.contains("no `loaded_at_field`"),
        "{}",
        out.stderr
    );
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("freshness_sources_json", stable_sources_json(&p, "target/sources.json"));
    });
}

/// As dbt: warnings alone exit 0; `--select source:<source>.<table>`
/// narrows the check; `-o` writes sources.json elsewhere (inside the
/// project: sluice writes nowhere else).
#[test]
fn warnings_exit_zero_and_selection_narrows() {
    let p = project();
    let env = [("SLUICE_FRESHNESS_TIME", NOW)];
    let out = p.sluice_env(
        &[
            "source",
            "freshness",
            "-s",
            "source:loads.pass_orders",
            "source:loads.warn_orders",
            "-o",
            "target/fresh/sources.json",
        ],
        &env,
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("Done. PASS=1 WARN=1 ERROR=0 SKIP=0 TOTAL=2"),
        "{}",
        out.stderr
    );
    let doc: serde_json::Value =
        serde_json::from_str(&p.read("target/fresh/sources.json")).unwrap();
    let statuses: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pass", "warn"]);
    assert_eq!(doc["results"][1]["max_loaded_at_time_ago_in_s"], 432000.0);
    let outside = p.sluice_env(&["source", "freshness", "-o", "../sources.json"], &env);
    assert_eq!(outside.code, 2, "{}", outside.stderr);
    assert!(
        outside.stderr.contains("outside the project"),
        "{}",
        outside.stderr
    );
}

/// Mistakes are located: a threshold period dbt does not know (exit 2, at
/// its line), and a pinned clock that is not a timestamp.
#[test]
fn bad_thresholds_and_clocks_are_usage_errors() {
    let p = project();
    p.write(
        "models/staging/_freshness.yml",
        &SOURCES.replace(
            "{count: 1, period: day}\n      - name: stale",
            "{count: 1, period: fortnight}\n      - name: stale",
        ),
    );
    let out = p.sluice_env(&["source", "freshness"], &[("SLUICE_FRESHNESS_TIME", NOW)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("must be minute, hour or day, got `fortnight`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("_freshness.yml:17:11"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    let clock = p.sluice_env(
        &["source", "freshness"],
        &[("SLUICE_FRESHNESS_TIME", "soon")],
    );
    assert_eq!(clock.code, 2, "{}", clock.stderr);
    assert!(
        clock
            .stderr
            .contains("SLUICE_FRESHNESS_TIME `soon` is not a timestamp"),
        "{}",
        clock.stderr
    );
}

/// dbt's `source_status:fresher`: with `--state` holding an earlier
/// `source freshness` run's sources.json, the sources whose newest row is
/// newer now are selected (a source whose filter hides the new row, or
/// whose check failed, is not); without a current sources.json the
/// selector is an error, not an empty selection.
#[test]
fn source_status_fresher_selects_sources_loaded_since_the_state() {
    let p = project();
    let env = [("SLUICE_FRESHNESS_TIME", NOW)];
    p.sluice_env(&["source", "freshness"], &env);
    let before = p.root().join("before");
    std::fs::rename(p.root().join("target"), &before).unwrap();
    let before = before.to_str().unwrap();
    let no_current = p.sluice(&["ls", "-s", "source_status:fresher", "--state", before]);
    assert_eq!(
        no_current.code, 2,
        "{}{}",
        no_current.stdout, no_current.stderr
    );
    assert!(
        no_current
            .stderr
            .contains("needs the current target's sources.json"),
        "{}",
        no_current.stderr
    );
    let mut orders = p.read("seeds/raw_orders.csv");
    orders.push_str("9999,1,2024-11-30,completed\n");
    p.write("seeds/raw_orders.csv", &orders);
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    p.sluice_env(&["source", "freshness"], &env);
    let out = p.sluice(&["ls", "-s", "source_status:fresher", "--state", before]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut listed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("source:"))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "source:shop_analytics.staging.loads.pass_orders",
            "source:shop_analytics.staging.loads.stale_orders",
            "source:shop_analytics.staging.loads.warn_orders"
        ],
        "{}",
        out.stdout
    );
}
