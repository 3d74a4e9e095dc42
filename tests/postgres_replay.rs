//! The compat project's incremental strategies and the snapshots project's
//! SCD history on PostgreSQL, run step by step beside the same steps on
//! DuckDB: after every step each table on the server equals DuckDB's row for
//! row, and the SCD invariants hold on the server, checked by SQL of its own
//! (not sluice's checks). The states are tests/common/snapshot_states.rs's and
//! tests/compat.rs's.
//!
//! The server: see tests/common/pg.rs.

mod common;

use common::compat_states::{add_amount_column, CHANGED_EVENTS, INCREMENTAL_RUN, STATUSES_AFTER};
use common::pg::{canonical_rows, copy_on, drop_schemas, profile, server, Server};
use common::snapshot_states::{type2_violations, write_state, STATES, TYPE1, TYPE2};
use common::TempProject;
use sluice::warehouse::connection::Connection;

/// `(schema, name)` of every relation in the PostgreSQL schemas named
/// `schema` or starting with `schema_`, sorted.
fn relations_on_pg(conn: &dyn Connection, schema: &str) -> Vec<(String, String)> {
    conn.query(&format!(
        "select table_schema, table_name from information_schema.tables where table_schema = '{schema}' or table_schema like '{schema}\\_%' order by 1, 2"
    ))
    .unwrap()
    .into_iter()
    .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
    .collect()
}

/// A DuckDB connection to `p`'s embedded database file.
fn duck_conn(p: &TempProject, project: &str) -> Box<dyn Connection> {
    let target = sluice::project::Target::embedded(&p.root(), project);
    let db = sluice::adapter::duckdb::Database::open(&target).unwrap();
    Box::new(db.connect().unwrap())
}

/// Every relation the PostgreSQL build made under `pg_schema` equals the
/// relation of the same name under DuckDB's `main` schema (a `_suffix`
/// schema maps to `main_suffix`), row for row, but those named in
/// [`ADAPTER_SPECIFIC`]. Returns how many were compared.
fn assert_same_relations(
    step: &str,
    duck: &TempProject,
    project: &str,
    pg: &dyn Connection,
    pg_schema: &str,
) -> usize {
    let duck = duck_conn(duck, project);
    let relations: Vec<(String, String)> = relations_on_pg(pg, pg_schema)
        .into_iter()
        .filter(|(_, name)| !ADAPTER_SPECIFIC.contains(&name.as_str()))
        .collect();
    for (schema, name) in &relations {
        let duck_schema = format!("main{}", &schema[pg_schema.len()..]);
        let on_duck = canonical_rows(duck.as_ref(), &format!("{duck_schema}.{name}"), &[]);
        let on_pg = canonical_rows(pg, &format!("{schema}.{name}"), &[]);
        assert_eq!(on_pg, on_duck, "{step}: {schema}.{name} differs");
    }
    relations.len()
}

/// Relations whose rows depend on the adapter by design: `labelled_events`
/// labels rows with a macro the compat project dispatches, which has a
/// `duckdb__` version and a `default__` one.
const ADAPTER_SPECIFIC: &[&str] = &["labelled_events"];

fn env(s: &Server) -> [(&'static str, &str); 1] {
    [("SLUICE_PG_PASSWORD", s.password.as_str())]
}

/// The compat project (every incremental strategy, on_schema_change,
/// ephemeral models, hooks, a local package, custom generic tests) builds on
/// PostgreSQL with DuckDB's tables; after new and changed source rows, each
/// strategy applies only the new rows, as on DuckDB (append adds the changed
/// row again, merge and delete+insert replace it); append_new_columns adds
/// the column on both.
#[test]
fn compat_incremental_strategies_match_duckdb_step_by_step() {
    let Some(s) = server() else { return };
    drop_schemas(&s, &["compat_pg"]);
    let duck = TempProject::copy_of("tests/projects/compat");
    let pg = copy_on(&s, "tests/projects/compat", "compat_pg");
    // dbt's dispatch on postgres: no `postgres__label`, so `default__label`
    // (DuckDB picks `duckdb__label`); the unit test expects what it gives.
    let unit_tests = pg.read("models/unit_tests.yml");
    assert!(unit_tests.contains("duckdb:new"));
    pg.write(
        "models/unit_tests.yml",
        &unit_tests.replace("duckdb:", "generic:"),
    );
    let conn = sluice::adapter::postgres::connect(&profile(&s)).unwrap();
    let both = |args: &[&str], step: &str| {
        let d = duck.sluice(args);
        assert_eq!(d.code, 0, "{step} on DuckDB: {}{}", d.stdout, d.stderr);
        let p = pg.sluice_env(args, &env(&s));
        assert_eq!(p.code, 0, "{step} on PostgreSQL: {}{}", p.stdout, p.stderr);
    };
    both(&["build"], "first build");
    let compared = assert_same_relations("first build", &duck, "compat", &conn, "compat_pg");
    assert!(compared >= 10, "only {compared} relations on PostgreSQL");
    let labels = conn
        .query("select distinct split_part(label, ':', 1) from compat_pg.labelled_events")
        .unwrap();
    assert_eq!(labels, vec![vec![Some("generic".to_owned())]]);

    duck.write("seeds/events.csv", CHANGED_EVENTS);
    pg.write("seeds/events.csv", CHANGED_EVENTS);
    both(&["seed"], "changed seed");
    both(INCREMENTAL_RUN, "incremental run");
    assert_same_relations("incremental run", &duck, "compat", &conn, "compat_pg");
    for (model, expected) in STATUSES_AFTER {
        let statuses: Vec<String> = conn
            .query(&format!(
                "select id || ':' || status from compat_pg.{model} order by id, status"
            ))
            .unwrap()
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        assert_eq!(&statuses, expected, "{model}");
    }

    for p in [&duck, &pg] {
        add_amount_column(p);
    }
    both(&["run", "-s", "events_new_columns"], "append_new_columns");
    assert_same_relations("append_new_columns", &duck, "compat", &conn, "compat_pg");
}

/// Every snapshot strategy (timestamp and check, each hard_deletes mode, a
/// composite key, type 1) through insert, update, delete, re-insert and an
/// unchanged rerun with a pinned clock: after every run each snapshot on
/// PostgreSQL equals DuckDB's row for row (all but the scd id, a hash of
/// time text each engine spells its own way), and the SCD invariants hold.
#[test]
fn snapshots_replay_on_postgres_as_on_duckdb() {
    let Some(s) = server() else { return };
    drop_schemas(&s, &["snap_pg", "snapshots"]);
    let duck = TempProject::copy_of("tests/projects/snapshots");
    let pg = copy_on(&s, "tests/projects/snapshots", "snap_pg");
    let conn = sluice::adapter::postgres::connect(&profile(&s)).unwrap();
    let project: serde_yaml::Value = serde_yaml::from_str(&duck.read("dbt_project.yml")).unwrap();
    let name = project["name"].as_str().unwrap().to_owned();
    for (step, (_, rows)) in STATES.iter().enumerate() {
        let time = format!("2024-02-0{} 00:00:00", step + 1);
        for p in [&duck, &pg] {
            write_state(p, rows);
            let mut envs = vec![("SLUICE_SNAPSHOT_TIME", time.as_str())];
            envs.extend(env(&s));
            let seed = p.sluice_env(&["seed", "-q"], &envs);
            assert_eq!(seed.code, 0, "step {step}: {}", seed.stderr);
            let run = p.sluice_env(&["snapshot"], &envs);
            assert_eq!(run.code, 0, "step {step}: {}{}", run.stdout, run.stderr);
        }
        let duck_conn = duck_conn(&duck, &name);
        for snapshot in TYPE2.iter().map(|t| t.name).chain(TYPE1.iter().copied()) {
            let rel = format!("snapshots.{snapshot}");
            let skip = ["dbt_scd_id", "scd_id"];
            assert_eq!(
                canonical_rows(&conn, &rel, &skip),
                canonical_rows(duck_conn.as_ref(), &rel, &skip),
                "step {step}: {snapshot} differs"
            );
        }
        for snapshot in TYPE2 {
            let bad = type2_violations(&conn, snapshot, "text", "'infinity'::timestamp");
            assert!(bad.is_empty(), "step {step}: {}: {bad:?}", snapshot.name);
        }
        for snapshot in TYPE1 {
            let dupes = conn
                .query(&format!(
                    "select id from snapshots.{snapshot} group by id having count(*) > 1"
                ))
                .unwrap();
            assert!(dupes.is_empty(), "step {step}: {snapshot}: {dupes:?}");
        }
    }
}
