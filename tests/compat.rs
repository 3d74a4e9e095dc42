//! dbt compatibility on a real DuckDB file (tests/projects/compat):
//! incremental models (each strategy after new and changed source rows,
//! on_schema_change, --full-refresh), ephemeral models, hooks and custom
//! generic tests. Incremental runs pin dbt's semantics: the first run builds
//! the table, later runs apply only the rows the model's `is_incremental()`
//! filter lets through.

mod common;

use common::compat_states::CHANGED_EVENTS as CHANGED;
use common::TempProject;

fn rows(p: &TempProject, model: &str) -> Vec<String> {
    p.query(&format!("select id, status from main.{model} order by all"))
        .into_iter()
        .map(|r| format!("{}:{}", r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect()
}

fn first_run_then_change() -> TempProject {
    let p = TempProject::copy_of("tests/projects/compat");
    let first = p.sluice(&["build"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    for m in ["events_append", "events_merge", "events_delete_insert"] {
        assert_eq!(
            rows(&p, m),
            ["1:new", "2:new", "3:new"],
            "{m} after the first run"
        );
    }
    p.write("seeds/events.csv", CHANGED);
    let seed = p.sluice(&["seed", "-q"]);
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    p
}

#[test]
fn strategies_apply_only_the_new_rows() {
    let p = first_run_then_change();
    let run = p.sluice(&[
        "run",
        "-s",
        "events_append",
        "events_merge",
        "events_delete_insert",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // append: the changed row 2 is added again next to its old version.
    assert_eq!(
        rows(&p, "events_append"),
        ["1:new", "2:new", "2:shipped", "3:new", "4:new"]
    );
    // merge and delete+insert: row 2 is replaced, row 4 added.
    assert_eq!(
        rows(&p, "events_merge"),
        ["1:new", "2:shipped", "3:new", "4:new"]
    );
    assert_eq!(
        rows(&p, "events_delete_insert"),
        ["1:new", "2:shipped", "3:new", "4:new"]
    );
    assert_eq!(
        p.scalar("select amount from main.events_merge where id = 2"),
        25
    );
    // The compiled SQL of the second run carries the is_incremental() filter.
    let compiled = p.read("target/compiled/compat/models/incremental/events_merge.sql");
    assert!(
        compiled.contains(r#"select max(updated_at) from "compat"."main"."events_merge""#),
        "{compiled}"
    );
    // A rerun with nothing new changes nothing.
    let again = p.sluice(&["run", "-q", "-s", "events_append"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        rows(&p, "events_append"),
        ["1:new", "2:new", "2:shipped", "3:new", "4:new"]
    );
}

#[test]
fn full_refresh_rebuilds_from_scratch() {
    let p = first_run_then_change();
    let run = p.sluice(&["run", "--full-refresh", "-s", "events_append"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        rows(&p, "events_append"),
        ["1:new", "2:shipped", "3:new", "4:new"]
    );
}

#[test]
fn on_schema_change_appends_columns_or_fails_and_keeps_the_table() {
    let p = first_run_then_change();
    for m in ["events_new_columns", "events_strict"] {
        let sql = p
            .read(&format!("models/incremental/{m}.sql"))
            .replace("select id, status,", "select id, status, amount,");
        p.write(&format!("models/incremental/{m}.sql"), &sql);
    }
    let run = p.sluice(&["run", "-s", "events_new_columns"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // append_new_columns: the new column exists; old rows have NULL, new rows a value.
    assert_eq!(
        p.query("select id, amount from main.events_new_columns order by id"),
        vec![
            vec![Some("1".into()), None],
            vec![Some("2".into()), Some("25".into())],
            vec![Some("3".into()), None],
            vec![Some("4".into()), Some("40".into())],
        ]
    );
    let before = p.table("main.events_strict");
    let strict = p.sluice(&["run", "-s", "events_strict"]);
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(strict.stderr.contains("out of sync"), "{}", strict.stderr);
    assert_eq!(
        p.table("main.events_strict"),
        before,
        "a failed incremental run keeps the table"
    );
    assert_eq!(
        p.scalar(
            "select count(*) from information_schema.tables where table_name like '%__sluice_incr'"
        ),
        0
    );
}

#[test]
fn ephemeral_models_are_inlined_as_ctes() {
    // Pins dbt's ephemeral materialization: no relation is created, and
    // every model that refs one gets it (and the ephemerals it refs) as
    // `__dbt__cte__<name>` CTEs, dependencies first.
    let p = TempProject::copy_of("tests/projects/compat");
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        p.query("select size, events, amount from main.events_by_size order by size"),
        vec![
            vec![Some("large".into()), Some("2".into()), Some("50".into())],
            vec![Some("small".into()), Some("1".into()), Some("10".into())],
        ]
    );
    assert_eq!(
        p.scalar("select count(*) from information_schema.tables where table_name like 'eph_%'"),
        0
    );
    assert!(
        !run.stderr.contains("eph_positive"),
        "ephemeral models do not run: {}",
        run.stderr
    );
    let compiled = p.read("target/compiled/compat/models/events_by_size.sql");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("compat_events_by_size_compiled", compiled));
}

#[test]
fn hooks_and_custom_generic_tests() {
    // Pins dbt's order: on-run-start, then each model's pre-hooks, the model,
    // its post-hooks, and on-run-end last.
    let p = TempProject::copy_of("tests/projects/compat");
    let run = p.sluice(&["build", "-s", "+events_by_size"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log: Vec<String> = p
        .query("select event from main.hook_log order by seq")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(
        log,
        [
            "run start",
            "before events_by_size",
            "built events_by_size",
            "run end"
        ]
    );
    // The custom generic test ran in both argument forms (named as dbt does:
    // arguments sorted by name, so `allow_zero` comes before the column).
    assert!(
        run.stderr
            .contains("PASS is_positive_events_by_size_True__amount"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("PASS is_positive_events_by_size_False__events"),
        "{}",
        run.stderr
    );
    // A failing custom test fails the build.
    p.write(
        "models/schema.yml",
        &p.read("models/schema.yml")
            .replace("allow_zero: true", "allow_zero: false")
            .replace("name: amount", "name: amount\n        description: x"),
    );
    p.write(
        "models/events_by_size.sql",
        &p.read("models/events_by_size.sql")
            .replace("sum(amount) as amount", "sum(amount) - 10 as amount"),
    );
    // (The model's unit test would now fail and skip it: leave it out.)
    let failing = p.sluice(&[
        "build",
        "-s",
        "+events_by_size",
        "--exclude",
        "test_type:unit",
    ]);
    assert_eq!(failing.code, 1, "{}", failing.stderr);
    assert!(
        failing
            .stderr
            .contains("FAIL 1 is_positive_events_by_size_False__amount"),
        "{}",
        failing.stderr
    );
}

#[test]
fn threads_give_the_same_tables_on_the_compat_project() {
    let tables = [
        "main.events_append",
        "main.events_merge",
        "main.events_delete_insert",
        "main.events_by_size",
    ];
    let build = |threads: &str| {
        let p = TempProject::copy_of("tests/projects/compat");
        let run = p.sluice(&["build", "-q", "--threads", threads]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        tables.iter().map(|t| p.table(t)).collect::<Vec<_>>()
    };
    assert_eq!(build("1"), build("4"));
}

#[test]
fn dispatch_prefers_the_adapter_specific_macro() {
    // Pins dbt's adapter.dispatch order: `duckdb__label` over `default__label`.
    let p = TempProject::copy_of("tests/projects/compat");
    let run = p.sluice(&["build", "-q", "-s", "+labelled_events"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        p.query("select distinct label from main.labelled_events"),
        vec![vec![Some("duckdb:new".to_owned())]]
    );
}

#[test]
fn run_query_sees_the_upstream_tables_built_in_the_same_run() {
    // dbt compiles a node right before running it, so run_query reads its
    // parents as this run built them: a status added to the seed becomes a
    // column of status_pivot in the same `build`, with no edit to the model.
    let p = TempProject::copy_of("tests/projects/compat");
    let first = p.sluice(&["build", "-s", "+status_pivot"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        p.query("select * from main.status_pivot"),
        [[Some("60".to_owned()), Some("3".to_owned())]]
    );
    p.write("seeds/events.csv", CHANGED);
    let second = p.sluice(&["build", "-s", "+status_pivot"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let columns = p.query(
        "select column_name from information_schema.columns where table_name = 'status_pivot' order by ordinal_position",
    );
    assert_eq!(
        columns.concat(),
        [
            Some("new_amount".to_owned()),
            Some("shipped_amount".to_owned()),
            Some("events_at_compile".to_owned())
        ]
    );
    assert_eq!(
        p.query("select * from main.status_pivot"),
        [[
            Some("80".to_owned()),
            Some("25".to_owned()),
            Some("4".to_owned())
        ]]
    );
    // `compile` asks the warehouse too, and writes the same SQL.
    let compile = p.sluice(&["compile", "-s", "status_pivot"]);
    assert_eq!(compile.code, 0, "{}", compile.stderr);
    assert!(
        compile.stdout.contains("as shipped_amount"),
        "{}",
        compile.stdout
    );
}

#[test]
fn modules_datetime_builds_dates_as_python_would() {
    // dbt exposes Python's datetime as modules.datetime; calendar.sql walks a week with it.
    let p = TempProject::copy_of("tests/projects/compat");
    let run = p.sluice(&[
        "run",
        "-s",
        "calendar",
        "--vars",
        "{calendar_start: '2024-02-26'}",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let days: Vec<String> = p
        .query("select strftime(day, '%Y-%m-%d') || ' ' || iso_weekday || ' ' || month_name from main.calendar order by day")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(
        days,
        [
            "2024-02-26 1 February",
            "2024-02-27 2 February",
            "2024-02-28 3 February",
            "2024-02-29 4 February",
            "2024-03-01 5 March",
            "2024-03-02 6 March",
            "2024-03-03 7 March"
        ]
    );
}

#[test]
fn unit_tests_run_on_fixtures_without_building_upstream() {
    // dbt 1.8: `sluice test --select test_type:unit` runs only unit tests, on
    // fixture rows; nothing upstream needs to exist in the warehouse.
    let p = TempProject::copy_of("tests/projects/compat");
    let run = p.sluice(&["test", "--select", "test_type:unit"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("PASS labelled_events::labels_come_from_the_dispatched_macro"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("PASS labelled_events::an_overridden_macro_returns_the_given_value"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Done. PASS=4 WARN=0 ERROR=0 SKIP=0 TOTAL=4"),
        "{}",
        run.stderr
    );
    // Nothing was built: the seed's table does not exist.
    let tables =
        p.query("select count(*) from information_schema.tables where table_name = 'events'");
    assert_eq!(tables, [[Some("0".to_owned())]]);
}

#[test]
fn a_failing_unit_test_prints_a_row_diff_and_build_skips_its_model() {
    let p = TempProject::copy_of("tests/projects/compat");
    p.write(
        "models/failing_unit_test.yml",
        "version: 2
unit_tests:
  - name: wrong_expectation
    model: labelled_events
    given:
      - input: ref('events')
        rows:
          - {id: 1, status: new}
          - {id: 2, status: shipped}
    expect:
      rows:
        - {id: 1, label: \"duckdb:new\"}
        - {id: 2, label: \"duckdb:lost\"}
",
    );
    let build = p.sluice(&["build", "-s", "+labelled_events"]);
    assert_eq!(build.code, 1, "{}", build.stderr);
    // As dbt build: a model whose unit test fails is not built.
    assert!(
        build.stderr.contains("SKIP relation main.labelled_events"),
        "{}",
        build.stderr
    );
    let at = build
        .stderr
        .find("Failure in unit_test wrong_expectation")
        .expect("failure reported");
    let start = build.stderr[..at].rfind('\n').map_or(0, |i| i + 1);
    let report: String = build.stderr[start..]
        .lines()
        .take(8)
        .map(|l| l.get(10..).unwrap_or(l).to_owned() + "\n")
        .collect();
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("unit_test_failure_diff", report);
    });
}

#[test]
fn a_unit_test_input_the_model_does_not_read_is_an_error_naming_what_it_reads() {
    let p = TempProject::copy_of("tests/projects/compat");
    p.write(
        "models/bad_unit_test.yml",
        "version: 2
unit_tests:
  - name: wrong_input
    model: labelled_events
    given:
      - input: ref('events_merge')
        rows: [{id: 1}]
    expect:
      rows: []
",
    );
    let run = p.sluice(&["test", "-s", "test_type:unit"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("model `labelled_events` does not read `ref('events_merge')`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ref('events')"), "{}", run.stderr);
}

#[test]
fn local_packages_join_the_project() {
    // packages.yml `local:` entries, as dbt: the package's models build under
    // its own name with its own dbt_project.yml config (+materialized: table),
    // the root project's config for the package applies on top (+tags), its
    // macros and vars are visible, and `ref('package', 'model')` resolves.
    let p = TempProject::copy_of("tests/projects/compat");
    let build = p.sluice(&["build", "-s", "+cents_total", "tag:vendored"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    assert_eq!(
        p.query("select total_cents from main.cents_total"),
        [[Some("6000".to_owned())]]
    );
    assert_eq!(
        p.query(
            "select table_type from information_schema.tables where table_name = 'event_cents'"
        ),
        [[Some("BASE TABLE".to_owned())]]
    );
    let ls = p.sluice(&[
        "ls",
        "-s",
        "tag:vendored",
        "--resource-type",
        "model",
        "--output",
        "json",
    ]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert!(
        ls.stdout
            .contains("\"unique_id\":\"model.compat_utils.event_cents\""),
        "{}",
        ls.stdout
    );
}

#[test]
fn dbt_project_config_values_render_jinja_with_the_target() {
    // dbt's DbtProjectYamlRenderer renders the config trees of every
    // dbt_project.yml (root and packages) with `target` at load time, as
    // cross-database packages write them; hooks wait for run time.
    let p = TempProject::copy_of("tests/projects/compat");
    let project = p.read("dbt_project.yml").replace(
        "    ephemeral:\n      +materialized: ephemeral\n",
        "    ephemeral:\n      +materialized: ephemeral\n    targeted:\n      +materialized: \"{{ 'view' if target.name == 'nope' else 'table' }}\"\n      +post-hook: \"insert into {{ target.schema }}.hook_log select 99, '{{ this.name }}'\"\n",
    ) + "\nseeds:\n  compat:\n    +column_types: {amount: \"{{ 'float' if target.type not in ['duckdb'] else 'decimal(10,2)' }}\"}\n";
    p.write("dbt_project.yml", &project);
    p.write(
        "models/targeted/targeted_total.sql",
        "select sum(amount) as total from {{ ref('events') }}\n",
    );
    // A package's own dbt_project.yml is rendered the same way.
    let package = "vendor/compat_utils/dbt_project.yml";
    let pkg = p.read(package).replace(
        "+materialized: table",
        "+materialized: \"{{ 'table' if target.type == 'duckdb' else 'view' }}\"",
    );
    p.write(package, &pkg);

    let build = p.sluice(&["build", "-s", "+targeted_total", "+event_cents"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    // `+materialized` rendered from `target.name` (dev): a table, not a view.
    assert_eq!(
        p.query(
            "select table_type from information_schema.tables where table_name = 'targeted_total'"
        ),
        [[Some("BASE TABLE".to_owned())]]
    );
    // The package's `+materialized`, rendered from `target.type`.
    assert_eq!(
        p.query(
            "select table_type from information_schema.tables where table_name = 'event_cents'"
        ),
        [[Some("BASE TABLE".to_owned())]]
    );
    // The seed's `+column_types` value, rendered before DuckDB sees it.
    assert_eq!(
        p.query("select data_type from information_schema.columns where table_name = 'events' and column_name = 'amount'"),
        [[Some("DECIMAL(10,2)".to_owned())]]
    );
    // The post-hook was left unrendered at load and rendered for the node
    // (`this` exists only then), as dbt's should_render_keypath.
    assert_eq!(
        p.query("select event from main.hook_log where seq = 99"),
        [[Some("targeted_total".to_owned())]]
    );
}
