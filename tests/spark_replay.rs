//! The snapshots project's SCD Type 2 history on Spark, run step by step
//! beside the same steps on DuckDB: after every step each snapshot on the
//! server equals DuckDB's row for row, and the SCD invariants hold on the
//! server, checked by SQL of this test's own (not sluice's checks). On
//! Spark each run rebuilds the snapshot table and swaps it in, since Parquet
//! tables cannot be updated in place; `type1` snapshots (in-place updates)
//! are refused with a hint. The states are tests/common/snapshot_states.rs's.
//!
//! The server: see tests/common/spark.rs.

mod common;

use common::pg::canonical_rows;
use common::snapshot_states::{type2_violations, write_state, STATES, TYPE2};
use common::spark::{connect, copy_on, drop_schemas, server};
use common::TempProject;
use sluice::warehouse::connection::Connection;

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
