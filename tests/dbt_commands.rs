//! The commands and configs dbt 1.8-1.12 made standard, end to end on real
//! DuckDB files: `run-operation`, `parse`, `init`, `vars.yml` and
//! `on_error`. Each test names the dbt behaviour it pins.

mod common;

use std::process::Command;

use common::TempProject;

/// dbt's `run-operation`: the macro runs against the warehouse with
/// `--args` as keyword arguments, and its `run_query` calls execute (the
/// table it creates exists afterwards); `package.name` finds it too.
#[test]
fn run_operation_calls_a_macro_with_args_against_the_warehouse() {
    let p = TempProject::new();
    p.write(
        "macros/make_table.sql",
        "{% macro make_table(name, rows=1) %}\n\
         {% do run_query('create or replace table main.' ~ name ~ ' as select range as n from range(' ~ rows ~ ')') %}\n\
         {% do log('made ' ~ name, info=True) %}\n\
         {% endmacro %}\n",
    );
    let out = p.sluice(&[
        "run-operation",
        "make_table",
        "--args",
        "{name: op_made, rows: 3}",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("made op_made"),
        "{}",
        out.stderr
    );
    assert_eq!(p.scalar("select count(*) from main.op_made"), 3);
    let qualified = p.sluice(&[
        "run-operation",
        "shop_analytics.make_table",
        "--args",
        "{name: op_two}",
    ]);
    assert_eq!(qualified.code, 0, "{}", qualified.stderr);
    assert_eq!(p.scalar("select count(*) from main.op_two"), 1);
}

/// A macro that fails is exit 1 with its error; an unknown macro and
/// `--args` that are not a mapping are usage errors (exit 2) with a hint.
#[test]
fn run_operation_failures_are_reported() {
    let p = TempProject::new();
    p.write(
        "macros/broken.sql",
        "{% macro broken() %}{% do run_query('select * from no_such_table') %}{% endmacro %}\n",
    );
    let failed = p.sluice(&["run-operation", "broken"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("no_such_table"), "{}", failed.stderr);
    let unknown = p.sluice(&["run-operation", "brokn"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("no package defines a macro named `brokn`"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stderr.contains("`broken`"), "{}", unknown.stderr);
    let bad_args = p.sluice(&["run-operation", "broken", "--args", "[1, 2]"]);
    assert_eq!(bad_args.code, 2, "{}", bad_args.stderr);
    assert!(
        bad_args.stderr.contains("must be a mapping"),
        "{}",
        bad_args.stderr
    );
}

/// dbt's `parse`: manifest.json is written with every node and no
/// compiled SQL, and no database is created.
#[test]
fn parse_writes_the_manifest_without_a_warehouse() {
    let p = TempProject::new();
    let out = p.sluice(&["parse"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let orders = &manifest["nodes"]["model.shop_analytics.orders"];
    assert_eq!(orders["resource_type"], "model");
    assert!(
        orders.get("compiled_code").is_none_or(|c| c.is_null()),
        "{orders}"
    );
    let perf: serde_json::Value = serde_json::from_str(&p.read("target/perf_info.json")).unwrap();
    assert!(perf["load_all_elapsed"].as_f64().unwrap() > 0.0);
    assert!(!p.db_path().exists(), "parse opened the warehouse");
}

/// dbt's `init`: a new folder with a project that builds as it is (here on
/// the embedded DuckDB default, with no profiles.yml); an existing folder
/// or a name that is not an identifier is refused.
#[test]
fn init_scaffolds_a_project_that_builds() {
    let dir = tempfile::tempdir().unwrap();
    let sluice = |args: &[&str], cwd: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(cwd)
            .env("HOME", dir.path())
            .env_remove("DBT_PROFILES_DIR")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let made = sluice(&["init", "fresh_project"], dir.path());
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let root = dir.path().join("fresh_project");
    let built = sluice(&["build"], &root);
    let err = String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "{err}");
    assert!(err.contains("PASS=6 WARN=0 ERROR=0"), "{err}");
    assert!(root.join("fresh_project.duckdb").exists());
    let again = sluice(&["init", "fresh_project"], dir.path());
    assert_eq!(again.status.code(), Some(2));
    let bad = sluice(&["init", "9lives"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
}

/// dbt 1.12's vars.yml: its `vars:` are the project's vars (as if in
/// dbt_project.yml, `--vars` still overrides them, and dbt_project.yml's
/// config may use them); vars in both files are an error at dbt_project.yml's
/// `vars:` line.
#[test]
fn vars_yml_holds_the_projects_vars() {
    let p = TempProject::new();
    let project = p.read("dbt_project.yml");
    let start = project.find("vars:").unwrap();
    let end = project.find("seeds:").unwrap();
    let vars = &project[start..end];
    p.write("vars.yml", &vars.replace("'2024-01-01'", "'2024-06-01'"));
    let clash = p.sluice(&["compile", "-q"]);
    assert_eq!(clash.code, 2, "{}", clash.stderr);
    assert!(
        clash
            .stderr
            .contains("vars are set in both vars.yml and dbt_project.yml"),
        "{}",
        clash.stderr
    );
    assert!(
        clash.stderr.contains("dbt_project.yml:"),
        "{}",
        clash.stderr
    );
    p.write(
        "dbt_project.yml",
        &format!("{}{}", &project[..start], &project[end..]),
    );
    let out = p.sluice(&[
        "compile",
        "--inline",
        "select '{{ var(\"start_date\") }}' as d",
        "-q",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("2024-06-01"), "{}", out.stdout);
    let cli = p.sluice(&[
        "compile",
        "--inline",
        "select '{{ var(\"start_date\") }}' as d",
        "-q",
        "--vars",
        "{start_date: '2025-01-01'}",
    ]);
    assert!(cli.stdout.contains("2025-01-01"), "{}", cli.stdout);
}

/// dbt 1.12's `on_error`: with `continue`, a failing model's children
/// still run (and the run still fails); with the default `skip_children`
/// they are skipped; an unknown value is a located config error.
#[test]
fn on_error_continue_runs_the_children_of_a_failed_model() {
    let p = TempProject::new();
    p.write(
        "models/flaky.sql",
        "{{ config(on_error='continue') }}\nselect 1 / 0 as x, * from no_such_table\n",
    );
    p.write(
        "models/after_flaky.sql",
        "-- depends_on: {{ ref('flaky') }}\nselect 1 as ok\n",
    );
    p.write("models/strict.sql", "select * from no_such_table\n");
    p.write(
        "models/after_strict.sql",
        "-- depends_on: {{ ref('strict') }}\nselect 1 as ok\n",
    );
    let out = p.sluice(&["run", "-s", "flaky+", "strict+"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("OK created sql view model main.after_flaky"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("SKIP relation main.after_strict"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("Done. PASS=1 WARN=0 ERROR=2 SKIP=1 TOTAL=4"),
        "{}",
        out.stderr
    );
    p.write(
        "models/flaky.sql",
        "{{ config(on_error='carry_on') }}\nselect 1 as x\n",
    );
    let bad = p.sluice(&["run", "-s", "flaky"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("on_error `carry_on`"), "{}", bad.stderr);
    assert!(bad.stderr.contains("models/flaky.sql:1:"), "{}", bad.stderr);
}

/// Gives `p` two targets in one database file, `prod` (schema main, the
/// default) and `dev` (schema dev), builds prod, and moves its target/ to
/// `prod_state/` as a `--state` directory. Returns the database file and
/// that directory.
fn built_prod_state(p: &TempProject) -> (std::path::PathBuf, std::path::PathBuf) {
    let db = p.root().join("shop.duckdb");
    p.write(
        "profiles.yml",
        &format!(
            "shop_analytics:\n  target: prod\n  outputs:\n    prod: {{type: duckdb, path: '{0}', schema: main}}\n    dev: {{type: duckdb, path: '{0}', schema: dev}}\n",
            db.display()
        ),
    );
    let prod = p.sluice(&["build", "-q"]);
    assert_eq!(prod.code, 0, "{}", prod.stderr);
    let state = p.root().join("prod_state");
    std::fs::rename(p.root().join("target"), &state).unwrap();
    (db, state)
}

/// dbt's `--defer --state`: a model built in a new target reads the
/// parents it does not build from the relations the state's manifest
/// records (here the `prod` target's), where the target lacks them; without
/// `--defer` the same run fails on the missing parents.
#[test]
fn defer_reads_unselected_parents_from_the_state() {
    let p = TempProject::new();
    let (db, state) = built_prod_state(&p);
    let alone = p.sluice(&["run", "-s", "orders", "--target", "dev"]);
    assert_eq!(alone.code, 1, "{}", alone.stderr);
    let deferred = p.sluice(&[
        "run",
        "-s",
        "orders",
        "--target",
        "dev",
        "--defer",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(deferred.code, 0, "{}", deferred.stderr);
    let count =
        |rel: &str| common::query_db(&db, &format!("select count(*) from {rel}"))[0][0].clone();
    assert_eq!(count("dev_marts.orders"), count("main_marts.orders"));
    let compiled = std::fs::read_to_string(
        p.root()
            .join("target/compiled/shop_analytics/models/marts/orders.sql"),
    )
    .unwrap();
    assert!(compiled.contains("\"main\".\"stg_orders\""), "{compiled}");
}

/// dbt 1.5's groups and access: a private model can be referenced from its
/// own group only (dbt's "not allowed because the referenced node is
/// private" error, here at the `ref`, exit 2); a public one from anywhere;
/// groups land in manifest.json; a group no YAML declares is an error.
#[test]
fn private_models_are_referenced_from_their_group_only() {
    let p = TempProject::new();
    p.write(
        "models/finance/_groups.yml",
        "version: 2\ngroups:\n  - name: finance\n    owner: {name: Finance, email: finance@example.com}\nmodels:\n  - name: ledger\n    access: private\n    config:\n      group: finance\n  - name: ledger_summary\n    config:\n      group: finance\n",
    );
    p.write("models/finance/ledger.sql", "select 1 as amount\n");
    p.write(
        "models/finance/ledger_summary.sql",
        "select sum(amount) as total from {{ ref('ledger') }}\n",
    );
    let ok = p.sluice(&["parse"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    assert_eq!(
        manifest["groups"]["group.shop_analytics.finance"]["owner"]["email"],
        "finance@example.com"
    );
    assert_eq!(
        manifest["nodes"]["model.shop_analytics.ledger"]["config"]["access"],
        "private"
    );
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(
            "manifest_groups",
            serde_json::to_string_pretty(&manifest["groups"]).unwrap()
        );
    });

    p.write(
        "models/outsider.sql",
        "-- reads the ledger\nselect * from {{ ref('ledger') }}\n",
    );
    let refused = p.sluice(&["parse"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("model `outsider` references model `ledger`, which is not allowed because the referenced model is private to the `finance` group"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("models/outsider.sql:2:"),
        "{}",
        refused.stderr
    );

    let yml = p.read("models/finance/_groups.yml");
    p.write(
        "models/finance/_groups.yml",
        &yml.replace("access: private", "access: public"),
    );
    assert_eq!(p.sluice(&["parse"]).code, 0);
    p.write(
        "models/finance/_groups.yml",
        &yml.replace(
            "group: finance\n  - name: ledger_summary",
            "group: treasury\n  - name: ledger_summary",
        ),
    );
    let unknown = p.sluice(&["parse"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("group `treasury`, which no `groups:` entry declares"),
        "{}",
        unknown.stderr
    );
}

/// dbt's exposures: declared in YAML with the refs and sources they read,
/// written to manifest.json (`exposures`, and as children in `child_map`),
/// and selectable: `+exposure:x` is everything upstream of what x reads,
/// so `sluice run -s +exposure:x` builds exactly that. A `depends_on` that
/// names no model is an error at its line, with a "did you mean".
#[test]
fn exposures_land_in_the_manifest_and_select_their_upstream() {
    let p = TempProject::new();
    p.write(
        "models/marts/_exposures.yml",
        "version: 2\nexposures:\n  - name: weekly_kpis\n    label: Weekly KPIs\n    type: dashboard\n    maturity: high\n    url: https://bi.example.com/kpis\n    owner: {name: Analytics, email: analytics@example.com}\n    depends_on:\n      - ref('orders')\n      - source('shop', 'raw_orders')\n",
    );
    let parsed = p.sluice(&["parse"]);
    assert_eq!(parsed.code, 0, "{}", parsed.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let e = &manifest["exposures"]["exposure.shop_analytics.weekly_kpis"];
    assert_eq!(e["type"], "dashboard");
    assert_eq!(e["owner"]["email"], "analytics@example.com");
    assert_eq!(
        e["depends_on"]["nodes"],
        serde_json::json!([
            "model.shop_analytics.orders",
            "source.shop_analytics.shop.raw_orders"
        ])
    );
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(
            "manifest_exposures",
            serde_json::to_string_pretty(&manifest["exposures"]).unwrap()
        );
    });
    let children = manifest["child_map"]["model.shop_analytics.orders"]
        .as_array()
        .unwrap();
    assert!(
        children
            .iter()
            .any(|c| c == "exposure.shop_analytics.weekly_kpis"),
        "{children:?}"
    );

    let listed = p.sluice(&[
        "ls",
        "-s",
        "+exposure:weekly_kpis",
        "--resource-type",
        "model",
    ]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let mut names: Vec<&str> = listed
        .stdout
        .lines()
        .filter_map(|l| l.rsplit('.').next())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["orders", "stg_orders", "stg_payments"],
        "{}",
        listed.stdout
    );
    // The docs site has a page for it, drawn downstream of what it reads.
    let docs = p.sluice(&["docs", "generate"]);
    assert_eq!(docs.code, 0, "{}", docs.stderr);
    let html = p.read("target/index.html");
    assert!(
        html.contains("\"id\":\"exposure.shop_analytics.weekly_kpis\""),
        "no exposure page"
    );
    assert!(html.contains("https://bi.example.com/kpis"));

    p.write(
        "models/marts/_exposures.yml",
        &p.read("models/marts/_exposures.yml")
            .replace("ref('orders')", "ref('ordres')"),
    );
    let bad = p.sluice(&["parse"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("exposure `weekly_kpis` depends on `ordres`"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("_exposures.yml:10:"), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("did you mean `ref('orders')`?"),
        "{}",
        bad.stderr
    );
}

/// dbt's `clone` on DuckDB (no zero-copy clones, so views, as dbt-duckdb):
/// the selected models become views in the new target over the state
/// run's relations, with their rows; a relation the target already has is
/// kept unless `--full-refresh`; without `--state` it is a usage error.
#[test]
fn clone_makes_views_over_the_state_relations() {
    let p = TempProject::new();
    let (db, state) = built_prod_state(&p);
    let state = state.to_str().unwrap();
    let no_state = p.sluice(&["clone", "--target", "dev"]);
    assert_eq!(no_state.code, 2, "{}", no_state.stderr);
    let out = p.sluice(&["clone", "-s", "marts", "--target", "dev", "--state", state]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Done. PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3"),
        "{}",
        out.stderr
    );
    let q = |sql: &str| common::query_db(&db, sql);
    assert_eq!(
        q("select table_type from information_schema.tables where table_schema = 'dev_marts' and table_name = 'orders'"),
        vec![vec![Some("VIEW".to_owned())]]
    );
    assert_eq!(
        q("select count(*) from (select * from dev_marts.orders except select * from main_marts.orders)"),
        vec![vec![Some("0".to_owned())]]
    );
    assert_eq!(
        q("select count(*) from dev_marts.orders"),
        q("select count(*) from main_marts.orders")
    );
    let again = p.sluice(&["clone", "-s", "marts", "--target", "dev", "--state", state]);
    assert!(again.stderr.contains("SKIP=3"), "{}", again.stderr);
    let forced = p.sluice(&[
        "clone",
        "-s",
        "marts",
        "--target",
        "dev",
        "--state",
        state,
        "--full-refresh",
    ]);
    assert!(forced.stderr.contains("PASS=3"), "{}", forced.stderr);
}
