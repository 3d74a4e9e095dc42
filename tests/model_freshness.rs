//! Model freshness (`freshness.build_after`, dbt 1.10+, as dbt's
//! state-aware orchestration), end to end on a real DuckDB file with the
//! clock pinned by `SLUICE_INVOCATION_TIME`: a model is built again only
//! when an input has new data (`updates_on: any`) or every input has
//! (`all`), and at least `build_after` after its last build; a change to
//! its SQL always builds it; models without the config always build.

mod common;

use common::{Run, TempProject};

fn project() -> TempProject {
    let p = TempProject::copy_of("tests/projects/versions");
    for f in [
        "dim_customers.sql",
        "dim_customers_v2.sql",
        "reads_latest.sql",
        "reads_v1.sql",
        "dim_customers.yml",
    ] {
        std::fs::remove_file(p.root().join("models").join(f)).unwrap();
    }
    p.write("seeds/orders.csv", "id,amount\n1,10\n2,20\n");
    p.write("seeds/refunds.csv", "id,amount\n1,5\n");
    p.write(
        "models/totals.sql",
        "{{ config(materialized='table', freshness={'build_after': {'count': 4, 'period': 'hour'}}) }}\n\
         select sum(amount) as total, '{{ var(\"mark\", \"a\") }}' as mark from {{ ref('orders') }}\n",
    );
    p.write(
        "models/net.sql",
        "{{ config(materialized='table', freshness={'build_after': {'count': 1, 'period': 'minute', 'updates_on': 'all'}}) }}\n\
         select '{{ var(\"mark\", \"a\") }}' as mark, (select sum(amount) from {{ ref('orders') }}) - (select sum(amount) from {{ ref('refunds') }}) as net\n",
    );
    p.write(
        "models/plain.sql",
        "{{ config(materialized='table') }}\nselect '{{ var(\"mark\", \"a\") }}' as mark from {{ ref('orders') }} limit 1\n",
    );
    p
}

fn at(p: &TempProject, now: &str, args: &[&str]) -> Run {
    p.sluice_env(args, &[("SLUICE_INVOCATION_TIME", now)])
}

fn status(p: &TempProject, unique_id: &str) -> String {
    let doc: serde_json::Value = serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == unique_id)
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no result for {unique_id}"))
}

fn mark(p: &TempProject, table: &str) -> String {
    p.query(&format!("select mark from main.{table}"))[0][0]
        .clone()
        .unwrap()
}

/// `updates_on: any` with `build_after: 4 hours`: no new data reuses the
/// model; new data within 4 hours of its build still reuses it; new data
/// after 4 hours builds it; so does a change to its SQL. A model without
/// the config builds every time.
#[test]
fn build_after_waits_for_new_data_and_the_interval() {
    let p = project();
    let out = at(&p, "2024-05-01 10:00:00", &["build", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status(&p, "model.versions.totals"), "success");

    // 11:00, models only: the seed was not loaded again, so nothing is new.
    let out = at(&p, "2024-05-01 11:00:00", &["run", "--vars", "{mark: b}"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status(&p, "model.versions.totals"), "reused");
    assert!(out.stderr.contains("REUSED"), "{}", out.stderr);
    assert_eq!(mark(&p, "totals"), "a");
    assert_eq!(
        mark(&p, "plain"),
        "b",
        "a model without build_after always builds"
    );

    // 12:00: the seed is loaded again (new data), but 4 hours have not passed.
    let out = at(
        &p,
        "2024-05-01 12:00:00",
        &["build", "-q", "--vars", "{mark: c}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status(&p, "model.versions.totals"), "reused");
    assert_eq!(mark(&p, "totals"), "a");

    // 15:00: new data and past 10:00 + 4 hours.
    let out = at(
        &p,
        "2024-05-01 15:00:00",
        &["build", "-q", "--vars", "{mark: d}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status(&p, "model.versions.totals"), "success");
    assert_eq!(mark(&p, "totals"), "d");

    // 15:01: its SQL changed: built, whatever the data and the clock.
    let sql = p
        .read("models/totals.sql")
        .replace("sum(amount)", "sum(amount) * 1");
    p.write("models/totals.sql", &sql);
    let out = at(
        &p,
        "2024-05-01 15:01:00",
        &["run", "-q", "--vars", "{mark: e}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status(&p, "model.versions.totals"), "success");
    assert_eq!(mark(&p, "totals"), "e");

    // --full-refresh builds it too.
    let out = at(
        &p,
        "2024-05-01 15:02:00",
        &["run", "-q", "--full-refresh", "--vars", "{mark: f}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(mark(&p, "totals"), "f");
}

/// `updates_on: all`: one input with new data is not enough; when every
/// input has new data, the model builds.
#[test]
fn updates_on_all_waits_for_every_input() {
    let p = project();
    assert_eq!(at(&p, "2024-05-01 10:00:00", &["build", "-q"]).code, 0);
    let out = at(
        &p,
        "2024-05-01 11:00:00",
        &["build", "-q", "-s", "orders+", "--vars", "{mark: b}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status(&p, "model.versions.net"), "reused");
    assert_eq!(mark(&p, "net"), "a");
    let out = at(
        &p,
        "2024-05-01 12:00:00",
        &["build", "-q", "--vars", "{mark: c}"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status(&p, "model.versions.net"), "success");
    assert_eq!(mark(&p, "net"), "c");
}

/// A `build_after` dbt would refuse is a located config error (exit 2).
#[test]
fn a_bad_build_after_is_a_located_error() {
    let p = project();
    let sql = p.read("models/totals.sql").replace("'hour'", "'week'");
    p.write("models/totals.sql", &sql);
    let out = p.sluice(&["parse"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("not minute, hour or day"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("models/totals.sql:1:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}
