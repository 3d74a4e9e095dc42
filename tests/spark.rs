//! The Spark adapter against a real Spark Connect server (issue 20): a
//! `type: spark` profile with `method: connect`, `sluice debug` reporting
//! the server, example_project built with DuckDB's tables row for row (seeds,
//! views, tables, the SCD2 snapshot), a second build replacing every
//! relation, a failing model keeping its table, and located connection
//! errors.
//!
//! The server: see tests/common/spark.rs.

mod common;

use common::pg::canonical_rows;
use common::spark::{connect, copy_on, drop_schemas, server};
use common::{TempProject, EXAMPLE_RELATIONS, SNAPSHOT_TIMES};
use sluice::warehouse::connection::Connection;

#[test]
fn debug_connects_and_reports_spark() {
    let Some(url) = server() else { return };
    let p = copy_on(&url, "example_project", "dbg_spark");
    let run = p.sluice(&["debug"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("type spark, method connect"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("connection: Apache Spark 4."),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ms (median of 5)"), "{}", run.stderr);
}

/// A server that is not there is a profile error at the output's `host:`
/// line, with a hint, and exit code 2 (as a bad profile in dbt).
#[test]
fn an_unreachable_server_is_a_located_profile_error() {
    let Some(url) = server() else { return };
    let p = copy_on(&url, "example_project", "gone_spark");
    p.write(
        "profiles.yml",
        &p.read("profiles.yml").replace(&url, "sc://127.0.0.1:1"),
    );
    let run = p.sluice(&["debug"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("could not connect to Spark Connect at 127.0.0.1:1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("profiles.yml:7:7"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    // A token (a managed cluster's credential) never shows, in output or
    // in anything sluice writes.
    let token = "dapi-s3cr3t-4711";
    p.write(
        "profiles.yml",
        &format!("{}      token: {token}\n", p.read("profiles.yml")),
    );
    let run = p.sluice(&["debug"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        !run.stderr.contains(token) && !run.stdout.contains(token),
        "{}",
        run.stderr
    );
    let compiled = p.sluice(&["compile", "-q"]);
    assert!(!compiled.stderr.contains(token), "{}", compiled.stderr);
    assert!(!common::pg::all_text(&p.root().join("target")).contains(token));
    // dbt-spark's other methods are named, located, and refused.
    p.write(
        "profiles.yml",
        &p.read("profiles.yml")
            .replace("method: connect", "method: thrift"),
    );
    let run = p.sluice(&["debug"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("profiles.yml:6:7"), "{}", run.stderr);
}

/// Issue 20's promise on Spark: example_project builds unchanged, and every
/// relation holds what the DuckDB build holds, row for row: seeds (typed by
/// DuckDB's reader, loaded by `insert`), staging views, marts and the SCD2
/// snapshot (rebuilt and swapped, as Spark cannot update Parquet in place).
/// A second build replaces every relation and appends no snapshot version
/// (nothing changed), as on DuckDB.
#[test]
fn example_project_builds_on_spark_with_duckdbs_tables() {
    let Some(url) = server() else { return };
    let duck = TempProject::new();
    let built = duck.sluice(&["build"]);
    assert_eq!(built.code, 0, "{}{}", built.stdout, built.stderr);
    let done = |out: &str| {
        out.lines()
            .find_map(|l| l.split_once("Done. ").map(|(_, d)| d.to_owned()))
            .unwrap_or_default()
    };
    // The same results as on DuckDB: every test passes, but the example's
    // deliberate warning (customers without an email).
    let on_duck = done(&format!("{}{}", built.stdout, built.stderr));
    assert!(on_duck.starts_with("PASS=36 WARN=1 ERROR=0"), "{on_duck}");
    let rebuilt = duck.sluice(&["build"]);
    assert_eq!(rebuilt.code, 0, "{}{}", rebuilt.stdout, rebuilt.stderr);
    let duck_target = sluice::project::Target::embedded(&duck.root(), "shop_analytics");
    let duck_db = sluice::adapter::duckdb::Database::open(&duck_target).unwrap();
    let duck_conn = duck_db.connect().unwrap();

    let conn = connect(&url);
    drop_schemas(
        &conn,
        &["ex_spark", "ex_spark_raw", "ex_spark_marts", "snapshots"],
    );
    let p = copy_on(&url, "example_project", "ex_spark");
    for round in ["first build", "rebuild"] {
        let run = p.sluice(&["build"]);
        // A fresh session: one that read a table before it was replaced
        // keeps its old file list (Spark caches it per session).
        let conn = connect(&url);
        let out = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 0, "{round}: {out}");
        assert_eq!(done(&out), on_duck, "{round}: {out}");
        for (suffix, name) in EXAMPLE_RELATIONS {
            let on_duck = canonical_rows(&duck_conn, &format!("main{suffix}.{name}"), &[]);
            let on_spark = canonical_rows(&conn, &format!("ex_spark{suffix}.{name}"), &[]);
            assert!(!on_duck.is_empty(), "{name} is empty on DuckDB");
            assert_eq!(on_spark, on_duck, "{round}: {name} differs");
        }
        let on_spark = canonical_rows(&conn, "snapshots.customers_snapshot", SNAPSHOT_TIMES);
        let on_duck = canonical_rows(&duck_conn, "snapshots.customers_snapshot", SNAPSHOT_TIMES);
        assert_eq!(on_spark, on_duck, "{round}: the snapshot differs");
    }
    // No intermediate relation is left behind in this test's schemas (the
    // other tests share the server, and their own intermediates may exist
    // while they run).
    let leftovers: Vec<_> = conn
        .relations()
        .unwrap()
        .into_iter()
        .filter(|[_, schema, name, _]| {
            (schema.starts_with("ex_spark") || schema == "snapshots") && name.contains("__sluice")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let manifest = p.read("target/manifest.json");
    assert!(
        manifest.contains("\"adapter_type\":\"spark\""),
        "manifest metadata"
    );
}

/// What Spark promises without transactions: the new table is built under
/// an intermediate name first, so a model whose SQL fails leaves the
/// previous table, rows and all, and no intermediate relation; the build
/// exits 1 naming the model, as on DuckDB.
#[test]
fn a_failing_model_keeps_its_previous_table_on_spark() {
    let Some(url) = server() else { return };
    let conn = connect(&url);
    drop_schemas(&conn, &["keep_spark", "keep_spark_raw", "keep_spark_marts"]);
    let p = copy_on(&url, "example_project", "keep_spark");
    std::fs::remove_dir_all(p.root().join("snapshots")).unwrap();
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let before = canonical_rows(&conn, "keep_spark_marts.customers", &[]);
    assert!(!before.is_empty());

    let sql = p.read("models/marts/customers.sql");
    p.write(
        "models/marts/customers.sql",
        &sql.replacen("select", "select no_such_column,", 1),
    );
    let run = p.sluice(&["run", "--select", "customers"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("no_such_column"), "{out}");
    assert!(out.contains("customers"), "{out}");
    assert_eq!(
        canonical_rows(&conn, "keep_spark_marts.customers", &[]),
        before
    );
    let leftovers: Vec<_> = conn
        .relations()
        .unwrap()
        .into_iter()
        .filter(|[_, schema, name, _]| {
            schema.starts_with("keep_spark") && name.contains("__sluice")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Incremental models on Spark: `append` adds the new rows;
/// `insert_overwrite` (dbt-spark's) replaces the table's rows with them (an
/// unpartitioned table, as dbt-spark); `merge` and `delete+insert` replace
/// the rows whose key is among the new rows and keep the others, as on
/// DuckDB, by rebuilding the Parquet table and swapping it in. A column the
/// new rows lack (`extra`, selected only on the first run) keeps its value
/// under merge (dbt's merge updates only the shared columns) and is NULL
/// under delete+insert (the row is inserted anew).
#[test]
fn incremental_strategies_on_spark() {
    let Some(url) = server() else { return };
    let conn = connect(&url);
    drop_schemas(&conn, &["inc_spark"]);
    let p = copy_on(&url, "example_project", "inc_spark");
    let model = |strategy: &str, filter: &str| {
        format!(
            "{{{{ config(materialized='incremental', incremental_strategy='{strategy}', unique_key='id') }}}}\n\
             select id, 'v{{{{ var(\"v\", 1) }}}}' as v\n\
             {{% if not is_incremental() %}}, 'x' as extra{{% endif %}}\n\
             from (select explode(sequence(1, 3)) as id)\n\
             {{% if is_incremental() %}} where {filter} {{% endif %}}\n"
        )
    };
    p.write("models/ev_append.sql", &model("append", "id = 3"));
    p.write("models/ev_over.sql", &model("insert_overwrite", "id >= 2"));
    p.write("models/ev_merge.sql", &model("merge", "id >= 2"));
    p.write("models/ev_delins.sql", &model("delete+insert", "id >= 2"));
    let select = ["--select", "ev_append", "ev_over", "ev_merge", "ev_delins"];
    let first = p.sluice(&[&["run"], &select[..]].concat());
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let second = p.sluice(&[&["run", "--vars", "{v: 2}"], &select[..]].concat());
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    let conn = connect(&url);
    let rows = |t: &str| canonical_rows(&conn, &format!("inc_spark.{t}"), &[]);
    let s = |v: &[&[&str]]| -> Vec<Vec<String>> {
        v.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    };
    assert_eq!(
        rows("ev_append"),
        s(&[
            &["1", "v1", "x"],
            &["2", "v1", "x"],
            &["3", "v1", "x"],
            &["3", "v2", "NULL"]
        ])
    );
    assert_eq!(
        rows("ev_over"),
        s(&[&["2", "v2", "NULL"], &["3", "v2", "NULL"]])
    );
    assert_eq!(
        rows("ev_merge"),
        s(&[&["1", "v1", "x"], &["2", "v2", "x"], &["3", "v2", "x"]])
    );
    assert_eq!(
        rows("ev_delins"),
        s(&[
            &["1", "v1", "x"],
            &["2", "v2", "NULL"],
            &["3", "v2", "NULL"]
        ])
    );
    let leftovers: Vec<String> = conn
        .query("show tables in inc_spark")
        .unwrap()
        .into_iter()
        .filter_map(|r| r[1].clone())
        .filter(|name| name.contains("__sluice"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// dbt 1.9's microbatch strategy on Spark as on DuckDB
/// (tests/common/microbatch_states.rs): Spark's Parquet tables cannot
/// delete a batch's window, so each batch rebuilds the table (the rows
/// outside the window plus the batch's) and swaps it in; the rows are those
/// DuckDB's delete + insert leave, a failed batch keeps the table as it
/// was, and `retry` runs that batch alone.
#[test]
fn microbatch_batches_and_retry_on_spark() {
    let Some(url) = server() else { return };
    drop_schemas(&connect(&url), &["mb_spark"]);
    let p = copy_on(&url, "tests/projects/microbatch", "mb_spark");
    // A new session per read: Spark caches a table's file list per
    // session, and each batch replaced the table's files.
    common::microbatch_states::replay(
        &|args, now| p.sluice_env(args, &[("SLUICE_INVOCATION_TIME", now)]),
        &|cols| {
            canonical_rows(
                &connect(&url),
                &format!("(select {cols} from mb_spark.events_enriched) t"),
                &[],
            )
        },
        &|| canonical_rows(&connect(&url), "mb_spark.daily_totals", &[]),
    );
    drop_schemas(&connect(&url), &["mb_spark"]);
}
