//! The PostgreSQL adapter against a real server (issue 20): a `type:
//! postgres` profile with dbt-postgres's fields, `sluice debug` reporting the
//! server, the warehouse `Connection` trait (transactional DDL, typed
//! results, the catalog), example_project built with DuckDB's tables row for
//! row, previews and docs read from the server, a failing model keeping its
//! table, located connection errors, and a password that never appears in
//! any output or artifact.
//!
//! The server: see tests/common/pg.rs.

mod common;

use common::pg::{all_text, canonical_rows, drop_schemas, profile, project_on, server};
use common::TempProject;
use common::{EXAMPLE_RELATIONS, SNAPSHOT_TIMES};
use sluice::warehouse::connection::{Connection, RelationType, TxEnd};
use sluice::warehouse::relation::Relation;

#[test]
fn debug_connects_and_reports_the_server_without_the_password() {
    let Some(s) = server() else { return };
    let p = project_on(&s, "analytics");
    let run = p.sluice_env(&["debug"], &[("SLUICE_PG_PASSWORD", &s.password)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("type postgres"), "{}", run.stderr);
    assert!(
        run.stderr.contains("connection: PostgreSQL 1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ms (median of 5)"), "{}", run.stderr);
    assert!(!run.stderr.contains(&s.password) && !run.stdout.contains(&s.password));
    // Nor in anything sluice wrote (target/, logs).
    let compiled = p.sluice_env(&["compile", "-q"], &[("SLUICE_PG_PASSWORD", &s.password)]);
    assert_eq!(compiled.code, 0, "{}", compiled.stderr);
    let written = all_text(&p.root().join("target"));
    assert!(!written.is_empty());
    assert!(!written.contains(&s.password), "the password is in target/");
}

#[test]
fn a_refused_login_is_a_located_profile_error_without_the_password() {
    let Some(s) = server() else { return };
    let p = project_on(&s, "analytics");
    let wrong = "not-the-password-4711";
    let run = p.sluice_env(&["debug"], &[("SLUICE_PG_PASSWORD", wrong)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("could not connect to PostgreSQL"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("password authentication failed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("profiles.yml:6:7"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);

    // A server that is not there: the same located error, quickly.
    p.write(
        "profiles.yml",
        &p.read("profiles.yml")
            .replace(&format!("port: {}", s.port), "port: 1"),
    );
    let run = p.sluice_env(&["debug"], &[("SLUICE_PG_PASSWORD", &s.password)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("could not connect to PostgreSQL at"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_connection_trait_on_postgres() {
    let Some(s) = server() else { return };
    let conn = sluice::adapter::postgres::connect(&profile(&s)).expect("connect");
    conn.execute("drop schema if exists sluice_trait cascade; create schema sluice_trait")
        .unwrap();
    let rel = |name: &str| Relation::new("postgres", "sluice_trait", name);
    conn.execute_in_transaction(&[
        "create table sluice_trait.t as select 1 as id, 2.50::numeric as amount, true as ok, date '2024-01-02' as d, 'x' as s".into(),
        "create view sluice_trait.v as select * from sluice_trait.t".into(),
    ])
    .unwrap();
    assert_eq!(
        conn.relation_type(&rel("t")).unwrap(),
        Some(RelationType::Table)
    );
    assert_eq!(
        conn.relation_type(&rel("v")).unwrap(),
        Some(RelationType::View)
    );
    assert_eq!(conn.relation_type(&rel("nope")).unwrap(), None);

    // PostgreSQL's DDL is transactional: a swap that fails half-way leaves
    // the old table, as the materializations promise.
    let failed = conn.execute_in_transaction(&[
        "alter table sluice_trait.t rename to t_old".into(),
        "select * from sluice_trait.missing".into(),
    ]);
    assert!(failed.is_err());
    assert_eq!(
        conn.relation_type(&rel("t")).unwrap(),
        Some(RelationType::Table)
    );
    assert_eq!(conn.relation_type(&rel("t_old")).unwrap(), None);

    // A dry run rolls back; a commit keeps.
    conn.transaction(&mut || {
        conn.execute("insert into sluice_trait.t values (2, 1, false, date '2024-01-03', 'y')")?;
        Ok(TxEnd::Rollback)
    })
    .unwrap();
    assert_eq!(
        conn.query("select count(*) from sluice_trait.t").unwrap(),
        vec![vec![Some("1".to_owned())]]
    );

    let table = conn
        .query_table("select id, amount, ok, d, s, null::int as n from sluice_trait.t")
        .unwrap();
    assert_eq!(table.columns, ["id", "amount", "ok", "d", "s", "n"]);
    assert_eq!(
        table.rows,
        vec![vec![
            serde_json::json!(1),
            serde_json::json!(2.5),
            serde_json::json!(true),
            serde_json::json!("2024-01-02"),
            serde_json::json!("x"),
            serde_json::Value::Null
        ]]
    );
    let err = conn
        .query("select no_such_column from sluice_trait.t")
        .unwrap_err();
    assert!(
        err.message().contains("no_such_column"),
        "{}",
        err.message()
    );
    conn.execute("drop schema sluice_trait cascade").unwrap();
}

/// Issue 20's first promise: the project a team already has builds on
/// PostgreSQL unchanged, and every table holds what the DuckDB build holds,
/// row for row: seeds (loaded by COPY with DuckDB's types), staging views,
/// marts and the SCD2 snapshot. A second build replaces every relation in
/// place (dbt-postgres's order: drop cascade, rename), again equal.
#[test]
fn example_project_builds_on_postgres_with_duckdbs_tables() {
    let Some(s) = server() else { return };
    let duck = TempProject::new();
    let built = duck.sluice(&["build"]);
    assert_eq!(built.code, 0, "{}{}", built.stdout, built.stderr);
    let duck_target = sluice::project::Target::embedded(&duck.root(), "shop_analytics");
    let duck_db = sluice::adapter::duckdb::Database::open(&duck_target).unwrap();
    let duck_conn = duck_db.connect().unwrap();

    drop_schemas(&s, &["ex_pg", "ex_pg_raw", "ex_pg_marts", "snapshots"]);
    let pg = project_on(&s, "ex_pg");
    let env = [("SLUICE_PG_PASSWORD", s.password.as_str())];
    let pg_conn = sluice::adapter::postgres::connect(&profile(&s)).unwrap();
    for round in ["first build", "rebuild"] {
        let run = pg.sluice_env(&["build"], &env);
        assert_eq!(run.code, 0, "{round}: {}{}", run.stdout, run.stderr);
        let out = format!("{}{}", run.stdout, run.stderr);
        assert!(out.contains("PASS=37 WARN=0 ERROR=0"), "{round}: {out}");
        for (suffix, name) in EXAMPLE_RELATIONS {
            let on_duck = canonical_rows(&duck_conn, &format!("main{suffix}.{name}"), &[]);
            let on_pg = canonical_rows(&pg_conn, &format!("ex_pg{suffix}.{name}"), &[]);
            assert!(!on_duck.is_empty(), "{name} is empty on DuckDB");
            assert_eq!(on_pg, on_duck, "{round}: {name} differs");
        }
        let on_duck = canonical_rows(&duck_conn, "snapshots.customers_snapshot", SNAPSHOT_TIMES);
        let on_pg = canonical_rows(&pg_conn, "snapshots.customers_snapshot", SNAPSHOT_TIMES);
        assert_eq!(on_pg, on_duck, "{round}: the snapshot differs");
    }
    // Previews and docs read the server too.
    let shown = pg.sluice_env(&["show", "--select", "customers", "--limit", "3"], &env);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("| customer_id"), "{}", shown.stdout);
    // A header, its rule and the three rows.
    let table_lines = shown.stdout.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(table_lines, 5, "{}", shown.stdout);
    let docs = pg.sluice_env(&["docs", "generate"], &env);
    assert_eq!(docs.code, 0, "{}", docs.stderr);
    let catalog: serde_json::Value = serde_json::from_str(&pg.read("target/catalog.json")).unwrap();
    let customers = &catalog["nodes"]["model.shop_analytics.customers"];
    assert_eq!(
        customers["metadata"]["schema"], "ex_pg_marts",
        "{customers}"
    );
    assert_eq!(
        customers["columns"]["customer_id"]["type"], "integer",
        "{customers}"
    );
    // The artifacts say which warehouse, and never hold the password.
    let manifest = pg.read("target/manifest.json");
    assert!(
        manifest.contains("\"adapter_type\":\"postgres\""),
        "manifest metadata"
    );
    assert!(!all_text(&pg.root().join("target")).contains(&s.password));
}

/// A model that fails on PostgreSQL keeps its previous table, rows and all:
/// the swap runs in one transaction and PostgreSQL's DDL is transactional,
/// as dbt-postgres's table materialization promises. The error names the
/// model, as on DuckDB, and the build's exit code is dbt's 1.
#[test]
fn a_failing_model_keeps_its_previous_table_on_postgres() {
    let Some(s) = server() else { return };
    drop_schemas(&s, &["keep_pg", "keep_pg_raw", "keep_pg_marts"]);
    let pg = project_on(&s, "keep_pg");
    std::fs::remove_dir_all(pg.root().join("snapshots")).unwrap();
    let env = [("SLUICE_PG_PASSWORD", s.password.as_str())];
    let run = pg.sluice_env(&["build"], &env);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let conn = sluice::adapter::postgres::connect(&profile(&s)).unwrap();
    let before = canonical_rows(&conn, "keep_pg_marts.customers", &[]);
    assert!(!before.is_empty());

    let sql = pg.read("models/marts/customers.sql");
    pg.write(
        "models/marts/customers.sql",
        &sql.replacen("select", "select no_such_column,", 1),
    );
    let run = pg.sluice_env(&["run", "--select", "customers"], &env);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("no_such_column"), "{out}");
    assert!(out.contains("customers"), "{out}");
    assert_eq!(
        canonical_rows(&conn, "keep_pg_marts.customers", &[]),
        before
    );
    let leftovers = conn
        .query(
            "select table_name from information_schema.tables where table_name like '%__sluice_%'",
        )
        .unwrap();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Whether the session of `conn` is encrypted, from the server's own view.
fn encrypted(conn: &dyn Connection) -> bool {
    conn.query("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .unwrap()
        == vec![vec![Some("t".to_owned())]]
}

/// libpq's `sslmode`s, as dbt-postgres passes them: `disable` is plain,
/// `prefer` and `require` encrypt without checking the certificate,
/// `verify-ca` checks the chain against `sslrootcert` but not the name,
/// `verify-full` both; a certificate that does not check out is a located
/// profile error, not a silent plain connection.
#[test]
fn sslmodes_encrypt_and_check_as_libpq_does() {
    let Some(s) = server() else { return };
    let Some(rootcert) = s.rootcert.clone() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "scripts/pg-server exports SLUICE_PG_ROOTCERT"
        );
        eprintln!("TLS test not run: this server was started without TLS (restart it with scripts/pg-server)");
        return;
    };
    let with = |mode: &str, root: &str, host: &str| sluice::project::PostgresProfile {
        sslmode: mode.into(),
        sslrootcert: root.into(),
        host: host.into(),
        ..profile(&s)
    };
    let connect = |p: &sluice::project::PostgresProfile| sluice::adapter::postgres::connect(p);
    assert!(!encrypted(
        &connect(&with("disable", "", "127.0.0.1")).unwrap()
    ));
    assert!(encrypted(
        &connect(&with("prefer", "", "127.0.0.1")).unwrap()
    ));
    assert!(encrypted(
        &connect(&with("require", "", "127.0.0.1")).unwrap()
    ));
    assert!(encrypted(
        &connect(&with("verify-full", &rootcert, "127.0.0.1")).unwrap()
    ));
    // The certificate names 127.0.0.1, not localhost: verify-ca accepts it,
    // verify-full does not.
    assert!(encrypted(
        &connect(&with("verify-ca", &rootcert, "localhost")).unwrap()
    ));
    let wrong_name = connect(&with("verify-full", &rootcert, "localhost")).unwrap_err();
    assert!(
        wrong_name.message().contains("not valid for name"),
        "{}",
        wrong_name.message()
    );
    assert!(wrong_name.hint().is_some_and(|h| h.contains("sslrootcert")));
    assert!(
        wrong_name.message().contains("could not connect"),
        "{}",
        wrong_name.message()
    );
    // Without the test CA, the public roots do not vouch for the server.
    let unknown = connect(&with("verify-full", "", "127.0.0.1")).unwrap_err();
    assert!(
        unknown.message().contains("could not connect"),
        "{}",
        unknown.message()
    );

    // From profiles.yml: an unknown mode and a missing root file are located.
    let p = project_on(&s, "analytics");
    let yml = p.read("profiles.yml");
    p.write(
        "profiles.yml",
        &format!("{yml}      sslmode: verify-everything\n"),
    );
    let run = p.sluice_env(&["debug"], &[("SLUICE_PG_PASSWORD", &s.password)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("profiles.yml:13:"), "{}", run.stderr);
    assert!(run.stderr.contains("verify-full"), "{}", run.stderr);
    p.write(
        "profiles.yml",
        &format!("{yml}      sslmode: verify-full\n      sslrootcert: /nonexistent/ca.pem\n"),
    );
    let run = p.sluice_env(&["debug"], &[("SLUICE_PG_PASSWORD", &s.password)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/ca.pem"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    p.write(
        "profiles.yml",
        &format!("{yml}      sslmode: verify-full\n      sslrootcert: {rootcert}\n"),
    );
    let run = p.sluice_env(&["debug"], &[("SLUICE_PG_PASSWORD", &s.password)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// dbt 1.9's microbatch strategy on PostgreSQL as on DuckDB
/// (tests/common/microbatch_states.rs): a batch per day from `begin`, a
/// failed batch that makes the model a partial success, and `retry`
/// running that batch alone.
#[test]
fn microbatch_batches_and_retry_on_postgres() {
    let Some(s) = server() else { return };
    let schema = "mb_pg";
    drop_schemas(&s, &[schema]);
    let p = common::pg::copy_on(&s, "tests/projects/microbatch", schema);
    let conn = sluice::adapter::postgres::connect(&profile(&s)).unwrap();
    common::microbatch_states::replay(
        &|args, now| {
            p.sluice_env(
                args,
                &[
                    ("SLUICE_PG_PASSWORD", s.password.as_str()),
                    ("SLUICE_INVOCATION_TIME", now),
                ],
            )
        },
        &|cols| {
            canonical_rows(
                &conn,
                &format!("(select {cols} from {schema}.events_enriched) t"),
                &[],
            )
        },
        &|| canonical_rows(&conn, &format!("{schema}.daily_totals"), &[]),
    );
    drop_schemas(&s, &[schema]);
}
