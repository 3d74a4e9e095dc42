//! DuckDB as its users know it: ICU, JSON and Parquet built in (no network,
//! ever), and dbt-duckdb's profile and config surface: `extensions`,
//! `settings`, `attach`, `external_root`, the `external` materialization and
//! sources with an `external_location`.
//!
//! The fixture (tests/projects/duckdb_features) points its profile at files
//! this test writes into the temp directory (`SLUICE_TEST_DIR`): the main
//! database, a second DuckDB file to attach, a CSV for a source. Its
//! `settings:` send any extension download to a closed port, so a build that
//! needed the network for an extension would fail, not fetch.

mod common;

use std::path::Path;

use common::TempProject;

const FIXTURE: &str = "tests/projects/duckdb_features";

/// Opens a DuckDB file the way sluice does (ICU registered, no autoload).
fn open(path: &Path) -> duckdb::Connection {
    sluice::adapter::duckdb::open_connection(&path.to_string_lossy(), &Default::default())
        .expect("open database")
}

/// Rows of `sql` on the file at `path`, each value as text (NULL as `NULL`).
fn rows(path: &Path, sql: &str) -> Vec<Vec<String>> {
    common::query_db(path, sql)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

/// The fixture, with the files its profile and sources read written by DuckDB:
/// `data/events.parquet` in the project, `clicks.csv` and the attached
/// `crm.duckdb` in the temp dir (the working directory of every run).
fn lakehouse() -> (TempProject, std::path::PathBuf) {
    let p = TempProject::copy_of(FIXTURE);
    let dir = p.dir.path().to_path_buf();
    std::fs::create_dir_all(p.root().join("data")).unwrap();
    let scratch = open(Path::new(":memory:"));
    scratch
        .execute_batch(&format!(
            "copy (select * from (values (1, 'view'), (2, 'click'), (3, 'view')) t(id, kind)) \
             to '{}' (format parquet);",
            p.root().join("data/events.parquet").display()
        ))
        .unwrap();
    std::fs::write(
        dir.join("clicks.csv"),
        "day,n\n2024-01-01,3\n2024-01-02,4\n",
    )
    .unwrap();
    let crm = open(&dir.join("crm.duckdb"));
    crm.execute_batch(
        "create schema sales; create table sales.accounts as select * from (values (1, 'Acme'), (2, 'Globex')) t(id, name);",
    )
    .unwrap();
    drop(crm);
    (p, dir)
}

fn build(p: &TempProject, dir: &Path, args: &[&str]) -> common::Run {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    p.sluice_env(&all, &[("SLUICE_TEST_DIR", &dir.to_string_lossy())])
}

#[test]
fn icu_json_and_parquet_work_with_no_network() {
    let (p, dir) = lakehouse();
    let run = build(&p, &dir, &["-s", "engine_functions", "event_counts"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let db = dir.join("lakehouse.duckdb");
    assert_eq!(
        rows(&db, "select * from main.engine_functions"),
        vec![vec![
            "true".to_owned(),
            "true".into(),
            // The profile's `settings:` (ICU's TimeZone setting).
            "Asia/Tokyo".into(),
            "2024-01-01 07:00:00".into(),
            "7".into(),
            "3".into(),
            "true".into(),
        ]]
    );
    // dbt-duckdb: a source with `external_location` in meta reads the file.
    assert_eq!(
        rows(&db, "select kind, n from main.event_counts order by kind"),
        vec![
            vec!["click".to_owned(), "1".into()],
            vec!["view".into(), "2".into()]
        ]
    );
}

#[test]
fn extension_autoload_is_off_and_a_missing_extension_is_named() {
    let (p, dir) = lakehouse();
    // A function of an extension sluice does not build in: DuckDB must not
    // fetch it (autoinstall off); the error names the function.
    p.write("models/spatial.sql", "select st_point(1, 2) as pt");
    let run = build(&p, &dir, &["-s", "spatial"]);
    assert_ne!(run.code, 0, "stdout:\n{}", run.stdout);
    assert!(
        run.stdout.contains("st_point") || run.stderr.contains("st_point"),
        "{}{}",
        run.stdout,
        run.stderr
    );

    // An extension in the profile that is not built in: a clear error naming it.
    let profile = p.read("profiles.yml").replace(
        "        - name: json\n",
        "        - name: json\n        - spatial\n",
    );
    p.write("profiles.yml", &profile);
    let run = build(&p, &dir, &["-s", "engine_functions"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("could not load the DuckDB extension `spatial`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

#[test]
fn external_models_write_files_and_views_read_them() {
    let (p, dir) = lakehouse();
    let run = build(&p, &dir, &["-s", "orders_export+"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let db = dir.join("lakehouse.duckdb");
    // `location` relative to the project; the relation is a view over the file.
    let parquet = p.root().join("out/orders.parquet");
    assert!(parquet.is_file(), "{} written", parquet.display());
    assert_eq!(
        rows(
            &db,
            "select table_type from information_schema.tables where table_name = 'orders_export'"
        ),
        vec![vec!["VIEW".to_owned()]]
    );
    assert_eq!(
        rows(
            &db,
            &format!(
                "select count(*), sum(amount)::varchar from read_parquet('{}')",
                parquet.display()
            )
        ),
        vec![vec!["3".to_owned(), "37.75".into()]]
    );
    // Downstream models ref it like any other relation.
    assert_eq!(
        rows(&db, "select amount from main.open_amount"),
        vec![vec!["17.75".to_owned()]]
    );
    // No location: `<external_root>/<name>.<format>`; CSV with the delimiter and a header.
    let csv = std::fs::read_to_string(p.root().join("exports/orders_csv.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("id|status"));
    assert_eq!(csv.lines().count(), 4);
    // partition_by: a directory of hive partitions, read back through a glob.
    assert!(p
        .root()
        .join("exports/orders_by_status/status=open")
        .is_dir());
    assert_eq!(
        rows(
            &db,
            "select status, count(*) from main.orders_by_status group by all order by 1"
        ),
        vec![
            vec!["open".to_owned(), "2".into()],
            vec!["shipped".into(), "1".into()]
        ]
    );
    // An empty result: the file keeps the columns, the view has no rows (dbt-duckdb).
    assert_eq!(
        rows(&db, "select count(*) from main.no_orders"),
        vec![vec!["0".to_owned()]]
    );
    assert_eq!(
        rows(&db, "select column_name from information_schema.columns where table_name = 'no_orders' order by ordinal_position"),
        vec![vec!["id".to_owned()], vec!["status".into()]]
    );

    // A rebuild replaces the file; nothing is left beside it.
    p.write(
        "models/orders_export.sql",
        "{{ config(materialized='external', location='out/orders.parquet') }}\nselect 9 as id, 'open' as status, 1.0 as amount",
    );
    let run = build(&p, &dir, &["-s", "orders_export", "open_amount"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        rows(&db, "select amount from main.open_amount"),
        vec![vec!["1.0".to_owned()]]
    );
    let leftovers: Vec<String> = std::fs::read_dir(p.root().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, vec!["orders.parquet".to_owned()]);

    // A failing rebuild keeps the old file and the old view.
    p.write(
        "models/orders_export.sql",
        "{{ config(materialized='external', location='out/orders.parquet') }}\nselect 1 / 'x' as id",
    );
    let run = build(&p, &dir, &["-s", "orders_export"]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        rows(&db, "select id, amount from main.orders_export"),
        vec![vec!["9".to_owned(), "1.0".into()]]
    );
}

#[test]
fn attached_databases_and_function_sources() {
    let (p, dir) = lakehouse();
    let run = build(&p, &dir, &["-s", "accounts", "click_total"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let db = dir.join("lakehouse.duckdb");
    // dbt-duckdb: an attached database is addressed by its alias in source().
    assert_eq!(
        rows(&db, "select id, name from main.accounts order by id"),
        vec![
            vec!["1".to_owned(), "Acme".into()],
            vec!["2".into(), "Globex".into()]
        ]
    );
    // formatter: oldstyle keeps the `{...}` of a read_csv call.
    assert_eq!(
        rows(&db, "select total from main.click_total"),
        vec![vec!["7".to_owned()]]
    );
    // The compiled SQL shows the location in place of the source relation.
    let compiled = p.read("target/compiled/lakehouse/models/click_total.sql");
    assert!(
        compiled.contains("from read_csv('clicks.csv', types={'n': 'INTEGER'})"),
        "{compiled}"
    );
}

#[test]
fn attach_read_only_rejects_writes_and_bad_entries_are_located() {
    let (p, dir) = lakehouse();
    p.write(
        "models/crm_write.sql",
        "{{ config(database='crm_db', schema='sales') }}\nselect 1 as id",
    );
    let run = build(&p, &dir, &["-s", "crm_write"]);
    // The model's schema is created before any node runs: DuckDB refuses it.
    assert_ne!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.to_lowercase().contains("read-only")
            || run.stderr.to_lowercase().contains("read-only"),
        "{}{}",
        run.stdout,
        run.stderr
    );

    let profile = p.read("profiles.yml").replace(
        "          alias: crm_db\n",
        "          alias: crm_db\n          options:\n            read_only: true\n",
    );
    p.write("profiles.yml", &profile);
    let run = build(&p, &dir, &["-s", "accounts"]);
    assert_eq!(run.code, 2, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("given both directly and under `options:`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("profiles.yml:"), "{}", run.stderr);
}

#[test]
fn duckdb_only_syntax_passes_the_compile_time_check_offline() {
    // sqlparser rejects DuckDB's list comprehension; the check then asks
    // DuckDB's own parser (json_serialize_sql, from the built-in JSON
    // extension). That used to autoinstall `json` from the network and,
    // offline, report valid SQL as a syntax error (issue 19).
    let (p, dir) = lakehouse();
    p.write(
        "models/doubled.sql",
        "select [y * 2 for y in [1, 2]] as doubled",
    );
    let run = p.sluice_env(
        &["compile", "-s", "doubled"],
        &[("SLUICE_TEST_DIR", &dir.to_string_lossy())],
    );
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let run = build(&p, &dir, &["-s", "doubled"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(
        rows(
            &dir.join("lakehouse.duckdb"),
            "select doubled::varchar from main.doubled"
        ),
        vec![vec!["[2, 4]".to_owned()]]
    );
}
