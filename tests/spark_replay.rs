//! The compat project's incremental strategies and the snapshots project's
//! SCD Type 2 history on Spark, run step by step beside the same steps on
//! DuckDB: after every step each table on the server equals DuckDB's row for
//! row, and the SCD invariants hold on the server, checked by SQL of this
//! test's own (not sluice's checks). On Spark each keyed incremental run and
//! each snapshot run rebuilds the table and swaps it in, since Parquet
//! tables cannot be updated in place; `type1` snapshots (in-place updates)
//! are refused with a hint. The states are tests/common/snapshot_states.rs's
//! and tests/postgres_replay.rs's.
//!
//! The server: see tests/common/spark.rs.

mod common;

use common::compat_states::{add_amount_column, CHANGED_EVENTS, INCREMENTAL_RUN, STATUSES_AFTER};
use common::pg::canonical_rows;
use common::snapshot_states::{type2_violations, write_state, STATES, TYPE2};
use common::spark::{connect, copy_on, drop_schemas, server};
use common::TempProject;
use sluice::warehouse::connection::Connection;

/// Every table and view the Spark build made in `schema` and the schemas
/// named `<schema>_*` equals the relation of the same name in DuckDB's
/// `main` (`main_*`), row for row, but `labelled_events`, whose labels come
/// from a macro dispatched per adapter. Returns how many were compared.
fn assert_same_relations(
    step: &str,
    duck: &TempProject,
    spark: &dyn Connection,
    schema: &str,
) -> usize {
    let target = sluice::project::Target::embedded(&duck.root(), "compat");
    let duck_db = sluice::adapter::duckdb::Database::open(&target).unwrap();
    let duck_conn = duck_db.connect().unwrap();
    let relations: Vec<(String, String)> = spark
        .relations()
        .unwrap()
        .into_iter()
        .filter(|[_, s, name, _]| {
            (s == schema || s.starts_with(&format!("{schema}_"))) && name != "labelled_events"
        })
        .map(|[_, s, name, _]| (s, name))
        .collect();
    for (s, name) in &relations {
        let duck_schema = format!("main{}", &s[schema.len()..]);
        assert_eq!(
            canonical_rows(spark, &format!("{s}.{name}"), &[]),
            canonical_rows(&duck_conn, &format!("{duck_schema}.{name}"), &[]),
            "{step}: {s}.{name} differs"
        );
    }
    relations.len()
}

/// The compat project (every incremental strategy, on_schema_change,
/// ephemeral models, hooks, a local package, custom generic tests, unit
/// tests) builds on Spark with DuckDB's tables; after new and changed source
/// rows each strategy applies only the new rows, as on DuckDB (append adds
/// the changed row again, merge and delete+insert replace it, here by
/// rebuilding the table); append_new_columns adds the column on both.
/// Two edits for Spark, as a team moving the project would make: the hook's
/// `varchar` column is `string` (Spark wants a length), and the unit test
/// of the dispatched macro expects `default__label` (no `spark__label`).
#[test]
fn compat_incremental_strategies_on_spark_as_on_duckdb() {
    let Some(url) = server() else { return };
    let conn = connect(&url);
    drop_schemas(&conn, &["compat_spark"]);
    let duck = TempProject::copy_of("tests/projects/compat");
    let spark = copy_on(&url, "tests/projects/compat", "compat_spark");
    let project = spark.read("dbt_project.yml");
    assert!(project.contains("event varchar)"));
    spark.write(
        "dbt_project.yml",
        &project.replace("event varchar)", "event string)"),
    );
    let unit_tests = spark.read("models/unit_tests.yml");
    assert!(unit_tests.contains("duckdb:new"));
    spark.write(
        "models/unit_tests.yml",
        &unit_tests.replace("duckdb:", "generic:"),
    );
    let both = |args: &[&str], step: &str| {
        for (p, on) in [(&duck, "DuckDB"), (&spark, "Spark")] {
            let out = p.sluice(args);
            assert_eq!(out.code, 0, "{step} on {on}: {}{}", out.stdout, out.stderr);
        }
        // A fresh session each step: Spark caches a table's files per session.
        connect(&url)
    };
    let conn = both(&["build"], "first build");
    let compared = assert_same_relations("first build", &duck, &conn, "compat_spark");
    assert!(compared >= 10, "only {compared} relations on Spark");
    let labels = conn
        .query("select distinct split_part(label, ':', 1) from compat_spark.labelled_events")
        .unwrap();
    assert_eq!(labels, vec![vec![Some("generic".to_owned())]]);

    duck.write("seeds/events.csv", CHANGED_EVENTS);
    spark.write("seeds/events.csv", CHANGED_EVENTS);
    both(&["seed"], "changed seed");
    let conn = both(INCREMENTAL_RUN, "incremental run");
    assert_same_relations("incremental run", &duck, &conn, "compat_spark");
    for (model, expected) in STATUSES_AFTER {
        let statuses: Vec<String> = conn
            .query(&format!(
                "select concat(id, ':', status) from compat_spark.{model} order by id, status"
            ))
            .unwrap()
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        assert_eq!(&statuses, expected, "{model}");
    }

    for p in [&duck, &spark] {
        add_amount_column(p);
    }
    let conn = both(&["run", "-s", "events_new_columns"], "append_new_columns");
    assert_same_relations("append_new_columns", &duck, &conn, "compat_spark");
    let leftovers: Vec<_> = conn
        .relations()
        .unwrap()
        .into_iter()
        .filter(|[_, schema, name, _]| {
            schema.starts_with("compat_spark") && name.contains("__sluice")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn snapshots_replay_on_spark_as_on_duckdb() {
    let Some(url) = server() else { return };
    let conn = connect(&url);
    drop_schemas(&conn, &["snap_spark", "snapshots"]);
    let duck = TempProject::copy_of("tests/projects/snapshots");
    let spark = copy_on(&url, "tests/projects/snapshots", "snap_spark");
    let project: serde_yaml::Value = serde_yaml::from_str(&duck.read("dbt_project.yml")).unwrap();
    let name = project["name"].as_str().unwrap().to_owned();

    // SCD Type 1 overwrites rows in place, which Parquet tables cannot do.
    write_state(&spark, STATES[0].1);
    assert_eq!(spark.sluice(&["seed", "-q"]).code, 0);
    let refused = spark.sluice(&["snapshot", "--select", "t1_ignore"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    let out = format!("{}{}", refused.stdout, refused.stderr);
    assert!(out.contains("strategy `type1`"), "{out}");
    assert!(out.contains("hint:"), "{out}");
    for p in [&duck, &spark] {
        std::fs::remove_file(p.root().join("snapshots/type1.sql")).unwrap();
    }

    for (step, (what, rows)) in STATES.iter().enumerate() {
        let time = format!("2024-02-0{} 00:00:00", step + 1);
        for p in [&duck, &spark] {
            write_state(p, rows);
            let envs = [("SLUICE_SNAPSHOT_TIME", time.as_str())];
            let seed = p.sluice_env(&["seed", "-q"], &envs);
            assert_eq!(seed.code, 0, "step {step} ({what}): {}", seed.stderr);
            let run = p.sluice_env(&["snapshot"], &envs);
            assert_eq!(
                run.code, 0,
                "step {step} ({what}): {}{}",
                run.stdout, run.stderr
            );
        }
        // A fresh session: one that read a snapshot before it was replaced
        // keeps its old file list (Spark caches it per session).
        let conn = connect(&url);
        let target = sluice::project::Target::embedded(&duck.root(), &name);
        let duck_db = sluice::adapter::duckdb::Database::open(&target).unwrap();
        let duck_conn = duck_db.connect().unwrap();
        for snapshot in TYPE2 {
            let rel = format!("snapshots.{}", snapshot.name);
            let skip = ["dbt_scd_id", "scd_id"];
            assert_eq!(
                canonical_rows(&conn, &rel, &skip),
                canonical_rows(&duck_conn, &rel, &skip),
                "step {step} ({what}): {} differs",
                snapshot.name
            );
            let bad =
                type2_violations(&conn, snapshot, "string", "timestamp '9999-12-31 23:59:59'");
            assert!(
                bad.is_empty(),
                "step {step} ({what}): {}: {bad:?}",
                snapshot.name
            );
        }
    }
    // The staged tables are gone once each run has swapped them in.
    let leftovers: Vec<_> = conn
        .relations()
        .unwrap()
        .into_iter()
        .filter(|[_, schema, name, _]| schema == "snapshots" && name.contains("__sluice"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
