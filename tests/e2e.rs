//! End-to-end tests: the real binary on a temp copy of example_project,
//! building into a real DuckDB file.

mod common;

use common::TempProject;

fn done_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rev()
        .find(|l| l.contains("Done. PASS="))
        .unwrap_or("")
}

#[test]
fn build_passes_and_marts_match_the_seeds() {
    let p = TempProject::new();
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    // The deliberate warn test (customers without email) warns but does not fail.
    assert!(
        done_line(&run.stderr).contains("WARN=1 ERROR=0 SKIP=0"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("using the embedded DuckDB database"),
        "{}",
        run.stderr
    );

    // Row counts the seeds imply, computed independently from the seed tables.
    assert_eq!(p.scalar("select count(*) from main_marts.customers"), 100);
    // The snapshot's first run: one current version per customer.
    assert_eq!(
        p.scalar("select count(*) from snapshots.customers_snapshot where dbt_valid_to is null"),
        p.scalar("select count(*) from main_raw.raw_customers")
    );
    assert_eq!(
        p.scalar("select count(*) from main_marts.orders"),
        p.scalar("select count(*) from main_raw.raw_orders where order_date >= date '2024-01-01'")
    );
    assert_eq!(
        p.scalar("select count(*) from main_marts.monthly_revenue"),
        p.scalar(
            "select count(distinct date_trunc('month', order_date)) from main_raw.raw_orders \
             where status not in ('returned', 'return_pending')"
        )
    );
    // Every cent of the payments seed lands in the orders mart.
    assert_eq!(
        p.scalar("select cast(sum(amount) * 100 as bigint) from main_marts.orders"),
        p.scalar("select sum(amount) from main_raw.raw_payments")
    );
    // Staging models are views, marts are tables (dbt materializations).
    assert_eq!(
        p.query("select table_schema, table_name, table_type from information_schema.tables where table_name in ('stg_orders', 'orders') order by 2"),
        vec![
            vec![Some("main_marts".into()), Some("orders".into()), Some("BASE TABLE".into())],
            vec![Some("main".into()), Some("stg_orders".into()), Some("VIEW".into())],
        ]
    );
    // store_failures: the relationships test wrote its (empty) failures table to the audit schema.
    assert_eq!(
        p.scalar("select count(*) from main_dbt_test__audit.relationships_orders_customer_id__customer_id__ref_customers_"),
        0
    );
    // The window function numbers each customer's orders from 1.
    assert_eq!(
        p.scalar("select count(*) from main_marts.orders where customer_order_number = 1"),
        p.scalar("select count(distinct customer_id) from main_marts.orders")
    );

    // Artifacts in dbt's shape.
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let orders = &manifest["nodes"]["model.shop_analytics.orders"];
    assert_eq!(orders["resource_type"], "model");
    assert_eq!(orders["config"]["materialized"], "table");
    assert_eq!(
        orders["depends_on"]["nodes"],
        serde_json::json!([
            "model.shop_analytics.stg_orders",
            "model.shop_analytics.stg_payments"
        ])
    );
    assert_eq!(
        orders["compiled_path"],
        "target/compiled/shop_analytics/models/marts/orders.sql"
    );
    assert!(manifest["sources"]["source.shop_analytics.shop.raw_orders"].is_object());
    // `{{ doc('customer_id') }}` descriptions are rendered from models/docs.md.
    let doc = &manifest["docs"]["doc.shop_analytics.customer_id"]["block_contents"];
    assert!(doc
        .as_str()
        .unwrap()
        .starts_with("The customer's id in the shop's CRM."));
    assert_eq!(
        &manifest["nodes"]["model.shop_analytics.customers"]["columns"]["customer_id"]
            ["description"],
        doc
    );
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    let statuses: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"warn") && statuses.contains(&"pass") && statuses.contains(&"success")
    );
    assert!(results["results"][0]["timing"][1]["name"] == "execute");
}

#[test]
fn rebuilding_gives_the_same_tables() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let tables = [
        "main_marts.customers",
        "main_marts.orders",
        "main_marts.monthly_revenue",
        "main_raw.raw_payments",
    ];
    let before: Vec<_> = tables.iter().map(|t| p.table(t)).collect();
    let again = p.sluice(&["build", "-q"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let after: Vec<_> = tables.iter().map(|t| p.table(t)).collect();
    assert_eq!(before, after);
    // No intermediate relations are left behind.
    assert_eq!(
        p.scalar(
            "select count(*) from information_schema.tables where table_name like '%__sluice_tmp'"
        ),
        0
    );
}

#[test]
fn select_picks_the_right_nodes() {
    let p = TempProject::new();
    let ls = |args: &[&str]| {
        let mut a = vec!["ls", "--output", "name"];
        a.extend_from_slice(args);
        let r = p.sluice(&a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    // Ancestors, with dbt's `+model`.
    assert_eq!(
        ls(&["-s", "+customers", "--resource-type", "model"]),
        [
            "customers",
            "orders",
            "stg_customers",
            "stg_orders",
            "stg_payments"
        ]
    );
    // Descendants with a depth limit.
    assert_eq!(
        ls(&["-s", "stg_orders+1", "--resource-type", "model"]),
        ["orders", "stg_orders"]
    );
    // Union (space) and intersection (comma).
    assert_eq!(
        ls(&[
            "-s",
            "tag:finance",
            "stg_customers",
            "--resource-type",
            "model"
        ]),
        ["monthly_revenue", "stg_customers"]
    );
    assert_eq!(
        ls(&[
            "-s",
            "tag:marts,config.materialized:table",
            "--exclude",
            "orders",
            "--resource-type",
            "model"
        ]),
        ["customers", "monthly_revenue"]
    );
    assert_eq!(
        ls(&["-s", "path:models/staging", "--resource-type", "model"]),
        ["stg_customers", "stg_orders", "stg_payments"]
    );
    assert_eq!(
        ls(&["-s", "source:shop", "--resource-type", "source"]),
        ["raw_orders"]
    );
    // Tests follow their models (eager indirect selection).
    let tests = ls(&["-s", "monthly_revenue", "--resource-type", "test"]);
    assert_eq!(
        tests,
        [
            "not_null_monthly_revenue_order_month",
            "unique_monthly_revenue_order_month"
        ]
    );

    // `run --select` builds exactly the selected models.
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    let run = p.sluice(&["run", "-s", "stg_payments", "stg_orders+1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let built = p.query("select table_name from information_schema.tables where table_schema in ('main', 'main_marts') order by 1");
    let built: Vec<_> = built.into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(built, ["orders", "stg_orders", "stg_payments"]);
}

#[test]
fn a_failing_model_keeps_its_old_table_and_skips_its_children() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let before = p.table("main_marts.orders");
    let customers_before = p.table("main_marts.customers");
    let sql = p
        .read("models/marts/orders.sql")
        .replace("orders.status,", "orders.no_such_column,");
    p.write("models/marts/orders.sql", &sql);
    // Make the child differ if it were rebuilt, so a rebuild would show.
    p.write(
        "seeds/raw_customers.csv",
        &p.read("seeds/raw_customers.csv").replace("Noah", "Noa"),
    );
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);

    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ERROR creating sql table model main_marts.orders"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("SKIP relation main_marts.customers"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no_such_column"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("compiled code at target/compiled/shop_analytics/models/marts/orders.sql"),
        "{}",
        run.stderr
    );
    assert!(
        done_line(&run.stderr).contains("ERROR=1 SKIP=2"),
        "{}",
        run.stderr
    );
    // The previous tables are intact.
    assert_eq!(p.table("main_marts.orders"), before);
    assert_eq!(p.table("main_marts.customers"), customers_before);
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    let status_of = |id: &str| {
        results["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["unique_id"] == id)
            .map(|r| r["status"].clone())
    };
    assert_eq!(
        status_of("model.shop_analytics.orders"),
        Some("error".into())
    );
    assert_eq!(
        status_of("model.shop_analytics.customers"),
        Some("skipped".into())
    );
    assert_eq!(
        status_of("model.shop_analytics.stg_orders"),
        Some("success".into())
    );
}

#[test]
fn a_failing_test_fails_the_exit_code() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let yml = p
        .read("models/staging/_staging.yml")
        .replace("'return_pending', 'returned'", "'returned'");
    p.write("models/staging/_staging.yml", &yml);
    let run = p.sluice(&["test", "-s", "stg_orders"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failures = p.scalar(
        "select count(distinct status) from main.stg_orders where status = 'return_pending'",
    );
    assert!(run.stderr.contains(&format!("FAIL {failures} accepted_values_stg_orders_status__placed__shipped__completed__returned")), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Failure in test accepted_values_stg_orders_status"),
        "{}",
        run.stderr
    );
}

#[test]
fn build_skips_what_is_downstream_of_a_failing_test() {
    // dbt build: a failing test on stg_payments skips stg_payments' children
    // (orders, and everything after it), but not unrelated models.
    let p = TempProject::new();
    let yml = p
        .read("models/staging/_staging.yml")
        .replace("'coupon', 'gift_card']", "'coupon']");
    p.write("models/staging/_staging.yml", &yml);
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("SKIP relation main_marts.orders"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("SKIP relation main_marts.customers"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("OK created sql view model main.stg_customers"),
        "{}",
        run.stderr
    );
    assert_eq!(
        p.scalar(
            "select count(*) from information_schema.tables where table_schema = 'main_marts'"
        ),
        0
    );
}

#[test]
fn seeds_reload_and_full_refresh_rebuilds() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    assert_eq!(p.scalar("select count(*) from main_raw.raw_customers"), 100);
    // column_types from YAML apply (dbt's seed column_types config).
    assert_eq!(
        p.query("select data_type from information_schema.columns where table_name = 'raw_customers' and column_name = 'signup_date'"),
        vec![vec![Some("DATE".to_owned())]]
    );
    let csv = p.read("seeds/raw_customers.csv");
    p.write(
        "seeds/raw_customers.csv",
        &format!("{csv}101,New,Person,new@example.com,US,2024-07-01\n"),
    );
    assert_eq!(p.sluice(&["seed", "-q", "-s", "raw_customers"]).code, 0);
    assert_eq!(p.scalar("select count(*) from main_raw.raw_customers"), 101);
    // A new column needs --full-refresh, as in dbt.
    let wide: String = p
        .read("seeds/raw_customers.csv")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},vip\n")
            } else {
                format!("{l},false\n")
            }
        })
        .collect();
    p.write("seeds/raw_customers.csv", &wide);
    let plain = p.sluice(&["seed", "-s", "raw_customers"]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert_eq!(
        p.scalar("select count(*) from main_raw.raw_customers"),
        101,
        "failed reload keeps the old rows"
    );
    assert_eq!(
        p.sluice(&["seed", "-q", "--full-refresh", "-s", "raw_customers"])
            .code,
        0
    );
    assert_eq!(
        p.scalar("select count(*) from main_raw.raw_customers where vip = false"),
        101
    );
}

#[test]
fn compile_writes_files_and_prints_the_selected_model() {
    let p = TempProject::new();
    let run = p.sluice(&["compile", "-s", "stg_orders"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = p.read("target/compiled/shop_analytics/models/staging/stg_orders.sql");
    assert_eq!(run.stdout.trim_end(), file.trim_end());
    assert!(
        file.contains(r#"from "shop_analytics"."main_raw"."raw_orders""#),
        "{file}"
    );
    let inline = p.sluice(&[
        "compile",
        "--inline",
        "select count(*) from {{ ref('orders') }}",
    ]);
    assert_eq!(inline.code, 0, "{}", inline.stderr);
    assert_eq!(
        inline.stdout.trim(),
        r#"select count(*) from "shop_analytics"."main_marts"."orders""#
    );
    // No database is needed to compile.
    assert!(!p.db_path().exists());
}

#[test]
fn threads_give_the_same_tables() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q", "--threads", "1"]).code, 0);
    let one = p.table("main_marts.customers");
    let run = p.sluice(&["build", "-q", "--threads", "4"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(p.table("main_marts.customers"), one);
}

#[test]
fn debug_and_clean() {
    let p = TempProject::new();
    let d = p.sluice(&["debug"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert!(d.stderr.contains("[OK connection ok]"), "{}", d.stderr);
    assert_eq!(p.sluice(&["compile", "-q"]).code, 0);
    assert!(p.root().join("target").exists());
    assert_eq!(p.sluice(&["clean"]).code, 0);
    assert!(!p.root().join("target").exists());
}

#[test]
fn a_locked_database_is_a_clear_error() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    // Another process holds the file: a child `sluice debug` cannot take the lock
    // while this process keeps a read-write connection open.
    let _hold = duckdb::Connection::open(p.db_path()).unwrap();
    let run = p.sluice(&["run"]);
    // DuckDB allows several connections inside one process but locks the file
    // against other processes.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is locked by another process"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["run", "-s", "bogus:x"]).code, 2);
    assert_eq!(p.sluice(&["frobnicate"]).code, 2);
    assert_eq!(p.sluice(&["run", "--vars", "[1, 2]"]).code, 2);
}

#[test]
fn fail_fast_skips_everything_not_yet_started() {
    let p = TempProject::new();
    // A broken staging model: without --fail-fast its unrelated siblings still build.
    p.write(
        "models/staging/stg_customers.sql",
        "select no_such_column from {{ ref('raw_customers') }}",
    );
    let run = p.sluice(&["build", "--fail-fast", "--threads", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    let results = results["results"].as_array().unwrap();
    let errored = results
        .iter()
        .position(|r| r["status"] == "error")
        .expect("one error");
    // Everything that started after the error was skipped.
    assert!(
        results[errored + 1..]
            .iter()
            .all(|r| r["status"] == "skipped"),
        "{results:#?}"
    );
    assert!(results.iter().filter(|r| r["status"] == "error").count() == 1);
}

#[test]
fn empty_builds_every_model_with_zero_rows() {
    // Pins dbt's --empty: refs and sources read as zero-row subqueries, so
    // every model is built (a schema check) but holds no rows; seeds load fully.
    let p = TempProject::new();
    let run = p.sluice(&["build", "--empty"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(p.scalar("select count(*) from main_raw.raw_customers"), 100);
    for t in [
        "main.stg_orders",
        "main_marts.orders",
        "main_marts.customers",
        "main_marts.monthly_revenue",
    ] {
        assert_eq!(p.scalar(&format!("select count(*) from {t}")), 0, "{t}");
    }
    assert_eq!(
        p.query("select count(*) from information_schema.columns where table_schema = 'main_marts' and table_name = 'orders'"),
        vec![vec![Some("10".to_owned())]]
    );
    let compiled = p.read("target/compiled/shop_analytics/models/marts/customers.sql");
    assert!(
        compiled.contains(
            r#"(select * from "shop_analytics"."main_marts"."orders" where false limit 0)"#
        ),
        "{compiled}"
    );
}

fn copy_target(p: &TempProject, to: &str) {
    let dst = p.root().join(to);
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["manifest.json", "run_results.json"] {
        std::fs::copy(p.root().join("target").join(f), dst.join(f)).unwrap();
    }
}

#[test]
fn state_modified_selects_the_changed_model_and_its_children() {
    // Pins dbt's state selection: `state:modified` is the changed node,
    // `state:modified+` adds its children, `state:new` what did not exist.
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    copy_target(&p, "prod_state");
    let state = p.root().join("prod_state");
    let state = state.to_str().unwrap();
    p.write(
        "models/staging/stg_orders.sql",
        &format!("-- reviewed\n{}", p.read("models/staging/stg_orders.sql")),
    );
    p.write(
        "models/marts/order_count.sql",
        "select count(*) as n from {{ ref('orders') }}",
    );
    let ls = |sel: &str| {
        let r = p.sluice(&[
            "ls",
            "-s",
            sel,
            "--state",
            state,
            "--resource-type",
            "model",
            "--output",
            "name",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(ls("state:modified"), ["order_count", "stg_orders"]);
    assert_eq!(ls("state:new"), ["order_count"]);
    assert_eq!(
        ls("state:modified+"),
        [
            "customers",
            "monthly_revenue",
            "order_count",
            "orders",
            "stg_orders"
        ]
    );
    // dbt's modified.macros: changing a macro modifies the models that call
    // it, and nothing else; the other sub-selectors see only their change.
    p.write(
        "macros/cents_to_dollars.sql",
        &p.read("macros/cents_to_dollars.sql")
            .replace("0.01", "0.010"),
    );
    assert_eq!(ls("state:modified.macros"), ["stg_payments"]);
    assert_eq!(ls("state:modified.body"), ["order_count", "stg_orders"]);
    assert_eq!(
        ls("state:modified"),
        ["order_count", "stg_orders", "stg_payments"]
    );
    // Without --state, a state selector is a usage error.
    let no_state = p.sluice(&["ls", "-s", "state:modified"]);
    assert_eq!(no_state.code, 2, "{}", no_state.stderr);
    assert!(no_state.stderr.contains("--state"), "{}", no_state.stderr);
}

#[test]
fn retry_reruns_what_failed_and_was_skipped() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let good = p.read("models/marts/orders.sql");
    p.write(
        "models/marts/orders.sql",
        &good.replace("orders.status,", "orders.no_such_column,"),
    );
    assert_eq!(p.sluice(&["run", "-q"]).code, 1);
    let target = p.root().join("target");
    let failed = p.sluice(&[
        "ls",
        "-s",
        "result:error",
        "--state",
        target.to_str().unwrap(),
        "--resource-type",
        "model",
        "--output",
        "name",
    ]);
    assert_eq!(failed.stdout.trim(), "orders", "{}", failed.stderr);
    p.write("models/marts/orders.sql", &good);
    let retry = p.sluice(&["retry"]);
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    let mut ids: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["unique_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "model.shop_analytics.customers",
            "model.shop_analytics.monthly_revenue",
            "model.shop_analytics.orders"
        ]
    );
    assert!(results["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "success"));
    let again = p.sluice(&["retry"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("Nothing to retry"),
        "{}",
        again.stderr
    );
}

/// As dbt's retry: the repeated command keeps the flags of the run it
/// repeats (here `--vars`), read back from run_results.json's `args`; a
/// run_results.json that does not say what ran is an error, not a silent
/// success.
#[test]
fn retry_repeats_the_flags_of_the_last_run_and_refuses_a_malformed_record() {
    let p = TempProject::new();
    p.write(
        "models/marts/flagged.sql",
        "select '{{ var(\'flag\') }}' as flag\n",
    );
    assert_eq!(
        p.sluice(&["build", "-q", "--vars", "{flag: first}"]).code,
        0
    );
    p.write(
        "models/marts/flagged.sql",
        "select '{{ var(\'flag\') }}' as flag, no_such_column\n",
    );
    assert_eq!(p.sluice(&["run", "-q", "--vars", "{flag: second}"]).code, 1);
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    assert_eq!(results["args"]["vars"], "{flag: second}");
    assert_eq!(results["args"]["which"], "run");
    p.write(
        "models/marts/flagged.sql",
        "select '{{ var(\'flag\') }}' as flag\n",
    );
    let retry = p.sluice(&["retry", "-q"]);
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(p.table("main_marts.flagged"), [[Some("second".to_owned())]]);

    p.write("target/run_results.json", "{\"results\": []}");
    let malformed = p.sluice(&["retry"]);
    assert_eq!(malformed.code, 2, "{}", malformed.stderr);
    assert!(
        malformed.stderr.contains("does not say what ran"),
        "{}",
        malformed.stderr
    );
}

/// Replaces `from` with `to` in the project file `path` and returns the
/// 1-based line `from` was on, for checking where an error points.
fn break_line(p: &TempProject, path: &str, from: &str, to: &str) -> usize {
    let text = p.read(path);
    let line = text
        .lines()
        .position(|l| l.contains(from))
        .unwrap_or_else(|| panic!("{path} has no `{from}`"))
        + 1;
    p.write(path, &text.replacen(from, to, 1));
    line
}

#[test]
fn a_warehouse_error_points_at_the_models_own_line() {
    // DuckDB quotes the compiled line it rejected; sluice maps it back
    // through the template to the file the user wrote.
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let line = break_line(
        &p,
        "models/marts/orders.sql",
        "orders.status,",
        "orders.no_such_column,",
    );
    let run = p.sluice(&["run", "-s", "orders"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("--> models/marts/orders.sql:{line}:9")),
        "{}",
        run.stderr
    );
}

#[test]
fn warehouse_errors_in_singular_tests_and_snapshots_point_at_their_files() {
    // The same mapping as for models, for the other nodes whose SQL the
    // user wrote: a singular test and a snapshot.
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let test = "tests/assert_order_amounts_match_payments.sql";
    let line = break_line(
        &p,
        test,
        "where orders.amount",
        "where orders.no_such_column",
    );
    let run = p.sluice(&["test", "-s", "assert_order_amounts_match_payments"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("--> {test}:{line}:7")),
        "{}",
        run.stderr
    );

    let snap = "snapshots/customers_snapshot.sql";
    let line = break_line(
        &p,
        snap,
        "select customer_id,",
        "select customer_id, no_such_column,",
    );
    let run = p.sluice(&["snapshot"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("--> {snap}:{line}:")),
        "{}",
        run.stderr
    );
}

#[test]
fn project_naming_macros_override_the_built_in_ones() {
    // dbt: a project's generate_schema_name replaces the default (here the
    // common "custom schema as is" pattern), and adapter.dispatch finds a
    // project's default__generate_alias_name before the built-in one.
    let p = TempProject::new();
    p.write(
        "macros/naming.sql",
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n\
         {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n\
         {%- endmacro %}\n\
         {% macro default__generate_alias_name(custom_alias_name=none, node=none) -%}\n\
         {{ 'x_' ~ node.name }}\n\
         {%- endmacro %}\n",
    );
    for args in [&["seed"][..], &["run", "-s", "stg_customers"]] {
        let run = p.sluice(args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(p.scalar("select count(*) from raw.x_raw_customers"), 100);
    assert_eq!(p.scalar("select count(*) from main.x_stg_customers"), 100);
    assert_eq!(
        p.scalar("select count(*) from information_schema.schemata where schema_name = 'main_raw'"),
        0
    );
}

#[test]
fn a_project_get_where_subquery_overrides_the_built_in_one() {
    // dbt: generic tests pass their model through get_where_subquery, and
    // adapter.dispatch finds a project's default__get_where_subquery first.
    // sluice skips the built-in macro for tests without `where`, so this pins
    // that an override still applies to every test.
    let p = TempProject::new();
    p.write(
        "macros/where.sql",
        "{% macro default__get_where_subquery(relation) -%}\n\
         {% do return('(select * from ' ~ relation ~ ' where 1 = 1) overridden') %}\n\
         {%- endmacro %}\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let test = p.read(
        "target/compiled/shop_analytics/models/marts/_marts.yml/not_null_orders_order_id.sql",
    );
    assert!(
        test.contains(
            "(select * from \"shop_analytics\".\"main_marts\".\"orders\" where 1 = 1) overridden"
        ),
        "{test}"
    );
}

#[test]
fn a_hard_coded_table_is_a_warning_naming_its_model() {
    // sluice goes beyond dbt: the compiled SQL's tables are checked against
    // the model's refs and sources.
    let p = TempProject::new();
    p.write(
        "models/marts/hardcoded.sql",
        "select count(*) as n\nfrom main.stg_orders\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: model `hardcoded` reads `main.stg_orders` directly: that is the table of model `stg_orders`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> models/marts/hardcoded.sql:2:11"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("{{ ref('stg_orders') }}"),
        "{}",
        run.stderr
    );
}

#[test]
fn compile_check_fails_with_a_diff_when_a_macro_changes_compiled_sql() {
    // `compile --snapshot` writes insta-format files; `--check` shows which
    // models a macro change altered.
    let p = TempProject::new();
    let snap = p.sluice(&["compile", "--snapshot"]);
    assert_eq!(snap.code, 0, "{}", snap.stderr);
    let file = p.read("snapshots/compiled/compiled__shop_analytics__stg_payments.snap");
    assert!(
        file.starts_with("---\nsource: models/staging/stg_payments.sql\n"),
        "{file}"
    );
    assert_eq!(p.sluice(&["compile", "--check"]).code, 0);
    p.write(
        "macros/cents_to_dollars.sql",
        &p.read("macros/cents_to_dollars.sql")
            .replace("* 0.01", "/ 100.0"),
    );
    let check = p.sluice(&["compile", "--check"]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert!(
        check
            .stderr
            .contains("compiled SQL of `stg_payments` changed:"),
        "{}",
        check.stderr
    );
    assert!(
        check.stderr.contains("-        cast(amount * 0.01"),
        "{}",
        check.stderr
    );
    assert!(
        check.stderr.contains("+        cast(amount / 100.0"),
        "{}",
        check.stderr
    );
    assert!(
        check.stderr.contains("1 compiled model differs"),
        "{}",
        check.stderr
    );
}

#[test]
fn lineage_prints_upstream_and_downstream_columns() {
    // Column lineage through staging views to the seeds, and the manifest's
    // columns_lineage field (a sluice extension).
    let p = TempProject::new();
    let run = p.sluice(&["lineage", "customers.lifetime_value"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let up = p.sluice(&["lineage", "stg_orders.customer_id"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("lineage_customers_lifetime_value", run.stdout);
        insta::assert_snapshot!("lineage_stg_orders_customer_id", up.stdout);
    });
    let json = p.sluice(&["lineage", "orders.order_id", "--output", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["upstream"][0]["name"], "stg_orders.order_id");
    assert_eq!(p.sluice(&["compile", "-q"]).code, 0);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let orders = &manifest["nodes"]["model.shop_analytics.stg_orders"]["columns_lineage"];
    assert_eq!(orders[0]["name"], "order_id");
    assert_eq!(orders[0]["kind"], "rename");
    let bad = p.sluice(&["lineage", "order.order_id"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("did you mean `orders`?"),
        "{}",
        bad.stderr
    );
}

#[test]
fn compile_dialect_prints_sql_for_another_engine() {
    let p = TempProject::new();
    let bq = p.sluice(&["compile", "--dialect", "bigquery", "-s", "stg_payments"]);
    assert_eq!(bq.code, 0, "{}", bq.stderr);
    assert!(
        bq.stdout
            .starts_with("-- model.shop_analytics.stg_payments (bigquery)"),
        "{}",
        bq.stdout
    );
    assert!(
        bq.stdout
            .contains("`shop_analytics`.`main_raw`.`raw_payments`"),
        "{}",
        bq.stdout
    );
    assert!(
        bq.stdout.contains("AS NUMERIC(18,2)") || bq.stdout.contains("DECIMAL(18,2)"),
        "{}",
        bq.stdout
    );
    let bad = p.sluice(&["compile", "--dialect", "oracle"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown dialect `oracle`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn dag_prints_mermaid_and_dot() {
    let p = TempProject::new();
    let mermaid = p.sluice(&["dag", "-s", "+orders"]);
    assert_eq!(mermaid.code, 0, "{}", mermaid.stderr);
    let dot = p.sluice(&["dag", "-s", "+orders", "--format", "dot"]);
    assert_eq!(dot.code, 0, "{}", dot.stderr);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("dag_orders_mermaid", mermaid.stdout);
        insta::assert_snapshot!("dag_orders_dot", dot.stdout);
    });
}

#[test]
fn docs_generate_writes_a_catalog_in_dbts_shape() {
    // dbt's catalog.json (v1): per relation its type, columns with types and
    // positions, and stats; metadata (time, invocation) is volatile and left
    // out of the snapshot.
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let run = p.sluice(&["docs", "generate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut catalog: serde_json::Value =
        serde_json::from_str(&p.read("target/catalog.json")).unwrap();
    assert_eq!(
        catalog["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/catalog/v1.json"
    );
    catalog.as_object_mut().unwrap().remove("metadata");
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    // A manifest node has no volatile fields (times live in metadata).
    let orders = &manifest["nodes"]["model.shop_analytics.orders"];
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("catalog_json", serde_json::to_string_pretty(&catalog).unwrap());
        insta::assert_snapshot!("manifest_node_orders", serde_json::to_string_pretty(orders).unwrap());
    });
}

#[test]
fn lineage_reads_column_lists_from_the_warehouse_when_the_database_exists() {
    // A source table sluice does not build and YAML does not describe: its
    // columns come from DuckDB's catalog, so `select *` expands.
    let p = TempProject::new();
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    {
        let conn = duckdb::Connection::open(p.db_path()).unwrap();
        conn.execute_batch("create schema if not exists ext; create table ext.events as select 1 as id, 'click' as kind")
            .unwrap();
    }
    p.write(
        "models/staging/_ext.yml",
        "version: 2\nsources:\n  - name: ext\n    tables:\n      - name: events\n",
    );
    p.write(
        "models/staging/all_events.sql",
        "select * from {{ source('ext', 'events') }}\n",
    );
    let run = p.sluice(&["lineage", "all_events.kind", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["column"]["kind"], "copy");
    assert_eq!(doc["upstream"][0]["name"], "events.kind");
    assert_eq!(
        doc["upstream"][0]["node"],
        "source.shop_analytics.ext.events"
    );
}

/// Deep SQL never aborts the process (issue 19): a model of 20,000 `union
/// all` branches compiles and builds, and one of 50,000 `+` terms fails as
/// a node with DuckDB's own limit and its hint, not a stack overflow
/// (exit 134). The threads that parse and compile get large stacks.
#[test]
fn deep_sql_builds_or_fails_as_a_node_never_aborts() {
    let p = TempProject::new();
    let union: Vec<String> = (0..20_000).map(|i| format!("select {i} as x")).collect();
    p.write("models/deep_union.sql", &union.join("\nunion all\n"));
    let run = p.sluice(&["build", "-q", "-s", "deep_union"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The view exists (querying it would time DuckDB's planner, not sluice).
    assert_eq!(
        p.scalar("select count(*) from duckdb_views() where view_name = 'deep_union'"),
        1
    );

    let sum = format!("select {} as x", vec!["1"; 50_000].join(" + "));
    p.write("models/deep_sum.sql", &sum);
    let run = p.sluice(&["build", "-s", "deep_sum"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("max_expression_depth"),
        "{}",
        run.stderr
    );
}

/// A UTF-8 byte order mark at the start of a model (Windows editors write
/// one) is not SQL: the model builds. An empty model (only a comment) is a
/// located error naming the real problem, not DuckDB's `syntax error at or
/// near ")"` from `create view ... as ()` (issue 19).
#[test]
fn a_bom_is_ignored_and_an_empty_model_says_it_is_empty() {
    let p = TempProject::new();
    p.write("models/bom.sql", "\u{feff}select 1 as x\n");
    let run = p.sluice(&["build", "-q", "-s", "bom"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(p.scalar("select x from main.bom"), 1);

    p.write("models/empty.sql", "{# nothing yet #}\n\n");
    let run = p.sluice(&["build", "-s", "empty"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("model `empty` has no SQL to run"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("models/empty.sql:1:1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("syntax error"), "{}", run.stderr);
}

#[test]
fn an_incremental_unique_key_that_is_no_column_is_named_and_the_table_kept() {
    // DuckDB's own error named `DBT_INTERNAL_SOURCE`, a relation the user
    // never wrote (issue 19). The run fails (exit 1, as any failed node) and
    // the table holds what the first run built.
    let p = TempProject::new();
    p.write(
        "models/marts/events_inc.sql",
        "{{ config(materialized='incremental', unique_key='nope') }}\nselect 1 as id, 'a' as label\n",
    );
    let first = p.sluice(&["run", "-s", "events_inc"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = p.sluice(&["run", "-s", "events_inc"]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("has unique_key `nope`, which is not among the model's columns (id, label)"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("models/marts/events_inc.sql:1:"),
        "{}",
        second.stderr
    );
    assert!(
        !second.stderr.contains("DBT_INTERNAL_SOURCE"),
        "{}",
        second.stderr
    );
    assert_eq!(p.scalar("select count(*) from main_marts.events_inc"), 1);
}

#[test]
fn snapshot_check_cols_that_the_select_lacks_fail_on_the_first_run() {
    // It passed its first run and failed only on the second (issue 19).
    let p = TempProject::new();
    p.write(
        "snapshots/customers_snapshot.sql",
        "{% snapshot customers_snapshot %}\n{{ config(target_schema='snapshots', unique_key='customer_id', strategy='check', check_cols=['email', 'nope']) }}\nselect customer_id, email from {{ ref('stg_customers') }}\n{% endsnapshot %}\n",
    );
    let run = p.sluice(&["build", "-s", "+customers_snapshot"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "check_cols names `nope`, which the snapshot's select does not return (customer_id, email)"
        ),
        "{}",
        run.stderr
    );
    let tables = p.query(
        "select count(*) from information_schema.tables where table_name = 'customers_snapshot'",
    );
    assert_eq!(tables, [[Some("0".to_owned())]]);
}

#[test]
fn a_selection_criterion_that_matches_nothing_is_a_warning() {
    // dbt's NoNodesForSelectionCriteria: warn, exit 0. `+@orders+` reads as
    // the name `@orders` (dbt's grammar puts `@` first), so it says why.
    let p = TempProject::new();
    let ls = p.sluice(&["ls", "-s", "+@orders+", "-s", "orders"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert!(
        ls.stderr.contains(
            "warning: the selection criterion `+@orders+` does not match any enabled nodes"
        ),
        "{}",
        ls.stderr
    );
    assert!(ls.stderr.contains("the `@` first"), "{}", ls.stderr);
    assert!(!ls.stderr.contains("criterion `orders`"), "{}", ls.stderr);
    assert!(ls.stdout.contains("orders"), "{}", ls.stdout);
}

#[test]
fn a_config_key_one_edit_from_a_known_one_is_a_warning() {
    // dbt takes `materialised` as a custom key and builds a view, silently.
    // A key far from every known one is a custom key and passes unnoticed.
    let p = TempProject::new();
    p.write(
        "models/marts/typo.sql",
        "{{ config(materialised='table', owner_team='data') }}\nselect 1 as x\n",
    );
    let run = p.sluice(&["compile", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: model `typo` sets config `materialised`, which dbt does not know"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `materialized`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("models/marts/typo.sql:1:11"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("config `owner_team`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_database_file_that_is_not_duckdb_says_so_and_is_left_alone() {
    // It got a hint about profiles.yml, though none was in use (issue 19).
    for contents in [&b""[..], &b"not a database, someone's notes"[..]] {
        let p = TempProject::new();
        std::fs::write(p.db_path(), contents).unwrap();
        let run = p.sluice(&["build", "-q"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("is not a complete DuckDB database"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("move it aside"), "{}", run.stderr);
        assert_eq!(std::fs::read(p.db_path()).unwrap(), contents);
    }
}

#[test]
fn seeds_and_snapshots_run_their_pre_and_post_hooks() {
    // dbt runs hooks around every materialization, seeds and snapshots too;
    // sluice ran them for models only (issue 19).
    let p = TempProject::new();
    let project = p.read("dbt_project.yml");
    p.write(
        "dbt_project.yml",
        &project.replacen(
            "seeds:\n",
            "seeds:\n  +pre-hook: \"create table if not exists main.hook_log (what varchar)\"\n  +post-hook: \"insert into main.hook_log values ('seed {{ this.name }}')\"\n",
            1,
        ),
    );
    p.write(
        "snapshots/customers_snapshot.sql",
        "{% snapshot customers_snapshot %}\n{{ config(target_schema='snapshots', unique_key='customer_id', strategy='check', check_cols=['email'], post_hook=\"insert into main.hook_log select 'snapshot ' || count(*) from {{ this }}\") }}\nselect customer_id, email from {{ ref('stg_customers') }}\n{% endsnapshot %}\n",
    );
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log: Vec<String> = p
        .query("select what from main.hook_log order by what")
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect();
    assert_eq!(
        log,
        [
            "seed raw_customers",
            "seed raw_orders",
            "seed raw_payments",
            "snapshot 100"
        ]
    );
}

#[test]
fn warn_error_raises_warnings_and_fails_warning_tests() {
    // dbt's --warn-error: "If dbt would normally warn, instead raise an
    // exception" (exit 2), and a data test that would warn fails (exit 1).
    let p = TempProject::new();
    p.write(
        "models/marts/typo.sql",
        "{{ config(materialised='table') }}\nselect 1 as x\n",
    );
    let run = p.sluice(&["compile", "-q", "--warn-error"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: model `typo` sets config `materialised`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--warn-error"), "{}", run.stderr);
    std::fs::remove_file(p.root().join("models/marts/typo.sql")).unwrap();

    // A selection that matches nothing: a warning, an error under
    // --warn-error, and a warning again when the options keep it one.
    let run = p.sluice(&["build", "-q", "-s", "no_such_model"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = p.sluice(&["build", "-q", "-s", "no_such_model", "--warn-error"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = p.sluice(&[
        "build",
        "-q",
        "-s",
        "no_such_model",
        "--warn-error-options",
        "{error: all, warn: [NoNodesForSelectionCriteria]}",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = p.sluice(&["compile", "-q", "--warn-error-options", "{fail: all}"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("unknown key `fail`"), "{}", run.stderr);

    // A warn-severity test that finds rows: WARN, exit 0; FAIL under --warn-error.
    p.write(
        "tests/warns_on_orders.sql",
        "{{ config(severity='warn') }}\nselect * from {{ ref('orders') }}\n",
    );
    let run = p.sluice(&["build", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = p.sluice(&["test", "-q", "-s", "warns_on_orders", "--warn-error"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let results = p.read("target/run_results.json");
    assert!(
        results.contains("\"status\": \"fail\"") || results.contains("\"status\":\"fail\""),
        "{results}"
    );
}

#[test]
fn deep_sql_and_jinja_build_or_fail_located_never_abort() {
    // Issue 19: deep SQL once aborted the process with a stack overflow
    // (exit 134). 20,000 union branches, a Jinja loop of 6,000, 100 nested
    // function calls and 100 nested macro calls build (dbt builds them
    // too); 50,000 `+` terms exceed DuckDB's expression depth and fail as
    // a located node error with a hint.
    let p = TempProject::new();
    let union: Vec<String> = (0..20_000).map(|i| format!("select {i} as n")).collect();
    p.write("models/deep/deep_union.sql", &union.join("\nunion all\n"));
    p.write(
        "models/deep/deep_jinja.sql",
        "{% for i in range(6000) %}select {{ i }} as n{% if not loop.last %} union all {% endif %}\n{% endfor %}",
    );
    p.write(
        "models/deep/deep_calls.sql",
        &format!("select {}1{} as n\n", "abs(".repeat(100), ")".repeat(100)),
    );
    p.write(
        "macros/nest.sql",
        "{% macro nest(n) %}{% if n > 0 %}({{ nest(n - 1) }}){% else %}1{% endif %}{% endmacro %}",
    );
    p.write(
        "models/deep/deep_macro.sql",
        "select {{ nest(100) }} as n\n",
    );
    p.write(
        "models/deep/deep_plus.sql",
        &format!("select {} as n\n", vec!["1"; 50_000].join(" + ")),
    );
    let run = p.sluice(&["build", "-s", "path:models/deep"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("OK created sql view model main.deep_union"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Error in model deep_plus (models/deep/deep_plus.sql)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> models/deep/deep_plus.sql"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("max_expression_depth"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("PASS=4 WARN=0 ERROR=1"),
        "{}",
        run.stderr
    );
    // DuckDB plans a union in time quadratic in its branches (its
    // decorrelation pass walks the union once per branch): a view is
    // created without planning, so only its existence is checked here.
    assert_eq!(
        p.scalar(
            "select count(*) from duckdb_views() where view_name in ('deep_union', 'deep_jinja')"
        ),
        2
    );
    assert_eq!(p.scalar("select n from main.deep_calls"), 1);
    assert_eq!(p.scalar("select n from main.deep_macro"), 1);
}

#[test]
fn quiet_build_still_shows_each_error_with_its_location() {
    // dbt's --quiet hides everything but errors: the failing node's error,
    // located, is still printed; the passing nodes' lines and the
    // warning of the warn-severity test are not.
    let p = TempProject::new();
    p.write(
        "models/broken.sql",
        "select no_such_column from {{ ref('stg_orders') }}\n",
    );
    let run = p.sluice(&["build", "-q"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Error in model broken (models/broken.sql)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> models/broken.sql:1:8"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no_such_column"), "{}", run.stderr);
    assert!(!run.stderr.contains("OK created"), "{}", run.stderr);
    assert!(!run.stderr.contains("Warning in test"), "{}", run.stderr);
    assert!(done_line(&run.stderr).contains("ERROR=1"), "{}", run.stderr);
}

#[test]
fn a_truncated_database_file_is_refused_before_any_node_runs() {
    // DuckDB opens a truncated file and fails only when a statement reads a
    // missing block, after other nodes ran against it; sluice checks the
    // file against its header first and leaves it as it is.
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let db = p.db_path();
    let len = std::fs::metadata(&db).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a complete DuckDB database"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("database file is truncated"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: sluice never overwrites it"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("START"), "{}", run.stderr);
    assert_eq!(std::fs::metadata(&db).unwrap().len(), len / 2);
}

#[test]
fn a_changed_seed_column_type_warns_and_full_refresh_applies_it() {
    // dbt keeps an existing seed table's definition (delete + insert)
    // unless --full-refresh: the table is the same as dbt's, and sluice
    // says so instead of letting the edit pass unnoticed.
    let p = TempProject::new();
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    let clean = p.sluice(&["seed"]);
    assert!(!clean.stderr.contains("warning:"), "{}", clean.stderr);
    let yml = p.read("seeds/_seeds.yml");
    p.write(
        "seeds/_seeds.yml",
        &yml.replacen("id: integer", "id: varchar", 1),
    );
    let type_of = |p: &TempProject| {
        p.query(
            "select data_type from information_schema.columns \
             where table_name = 'raw_customers' and column_name = 'id'",
        )
    };

    let run = p.sluice(&["seed"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: seed `raw_customers`: `id` is INTEGER in the table, `column_types` says varchar"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> seeds/_seeds.yml:4:11"),
        "{}",
        run.stderr
    );
    assert_eq!(type_of(&p), vec![vec![Some("INTEGER".to_owned())]]);

    let strict = p.sluice(&["seed", "--warn-error"]);
    assert_eq!(strict.code, 1, "{}", strict.stderr);

    let refreshed = p.sluice(&["seed", "--full-refresh"]);
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert!(
        !refreshed.stderr.contains("warning:"),
        "{}",
        refreshed.stderr
    );
    assert_eq!(type_of(&p), vec![vec![Some("VARCHAR".to_owned())]]);
    let after = p.sluice(&["seed"]);
    assert!(!after.stderr.contains("warning:"), "{}", after.stderr);
}
