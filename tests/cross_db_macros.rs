//! dbt's cross-database macros (templates/macros/cross_database/) on
//! DuckDB: the SQL each renders, snapshotted, and its value on a real
//! DuckDB file, against what dbt-core 1.12 + dbt-duckdb 1.11 produce.
//!
//! The fixture (tests/projects/cross_db) has one table model per macro call,
//! built once by the real binary; its analyses call the generic `default__`
//! implementations dbt-duckdb replaces, compiled in-process. The same project
//! builds with dbt: the compiled SQL snapshotted here is the SQL dbt wrote,
//! character for character, and the values asserted are the values dbt's
//! build stored.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::TempProject;
use sluice::compile::compile_node;
use sluice::manifest::{Manifest, ResourceType};
use sluice::project::{LoadOptions, ProfileOptions, Project};
use sluice::render::Renderer;

const FIXTURE: &str = "tests/projects/cross_db";

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Rows of `model`, each value as DuckDB's text (null as `NULL`), sorted.
fn rows(p: &TempProject, model: &str) -> Vec<Vec<String>> {
    p.table(&format!("main.{model}"))
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

/// The one row of `model`.
fn row(p: &TempProject, model: &str) -> Vec<String> {
    let mut all = rows(p, model);
    assert_eq!(all.len(), 1, "`{model}` has one row: {all:?}");
    all.remove(0)
}

/// The single value of `model`.
fn value(p: &TempProject, model: &str) -> String {
    let r = row(p, model);
    assert_eq!(r.len(), 1, "`{model}` has one column: {r:?}");
    r[0].clone()
}

/// `column type` of each column of `model`, in order.
fn column_types(p: &TempProject, model: &str) -> Vec<String> {
    p.query(&format!(
        "select column_name || ' ' || data_type from information_schema.columns \
         where table_name = '{model}' order by ordinal_position"
    ))
    .into_iter()
    .map(|r| r[0].clone().unwrap_or_default())
    .collect()
}

#[test]
fn cross_database_macros_render_dbt_duckdb_sql_and_values() {
    let p = TempProject::copy_of(FIXTURE);
    let build = p.sluice(&["build", "-q"]);
    assert_eq!(build.code, 0, "stderr:\n{}", build.stderr);

    // The SQL of every model, as the build compiled it (models that run a
    // query while compiling, such as date_spine, with the warehouse's answer).
    let models: BTreeMap<String, String> = std::fs::read_dir(p.root().join("models"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().replace(".sql", "");
            let sql = p.read(&format!("target/compiled/cross_db/models/{name}.sql"));
            (name, sql)
        })
        .collect();
    assert_eq!(models.len(), 45, "one model per macro call");
    snapshot_settings().bind(|| {
        for (name, sql) in &models {
            insta::assert_snapshot!(format!("cross_db__{name}"), sql);
        }
    });

    // dateadd: dbt-duckdb adds `cast(n as bigint) * interval 1 <part>`, so a
    // date becomes a timestamp and month ends clamp.
    assert_eq!(value(&p, "dateadd_day"), "2024-02-01 00:00:00");
    assert_eq!(value(&p, "dateadd_month"), "2024-02-29 00:00:00");
    // dbt-duckdb's quarter is 3 months, its week 7 days.
    assert_eq!(value(&p, "dateadd_quarter"), "2025-02-28 00:00:00");
    assert_eq!(value(&p, "dateadd_week"), "2023-12-27 00:00:00");
    // The count may be a column: dbt-duckdb multiplies rather than writing `interval n`.
    assert_eq!(value(&p, "dateadd_column"), "2024-01-02 01:00:00");
    assert_eq!(column_types(&p, "dateadd_day"), ["v TIMESTAMP"]);

    // datediff: date_diff counts part boundaries crossed, as bigint.
    assert_eq!(value(&p, "datediff_day"), "60");
    assert_eq!(value(&p, "datediff_month"), "1");
    assert_eq!(value(&p, "datediff_year"), "1");
    assert_eq!(column_types(&p, "datediff_day"), ["v BIGINT"]);
    // dbt-duckdb's week: days // 7, plus one when a Sunday-started week
    // boundary lies between (Sat -> Sun is 1, Sun -> Sat is 0); 13 days back is -2.
    assert_eq!(row(&p, "datediff_week"), ["1", "0", "-2"]);

    // date_trunc: DuckDB's date_trunc('month', date), a timestamp.
    assert_eq!(value(&p, "date_trunc_month"), "2024-05-01 00:00:00");
    // last_day: next period's start less a day, cast to date; dbt-duckdb's quarter is 3 months.
    assert_eq!(value(&p, "last_day_month"), "2024-02-29");
    assert_eq!(value(&p, "last_day_quarter"), "2024-06-30");
    assert_eq!(value(&p, "last_day_year"), "2024-12-31");
    assert_eq!(column_types(&p, "last_day_month"), ["v DATE"]);
    // date(y, m, d): dbt-duckdb's make_date.
    assert_eq!(value(&p, "date_from_parts"), "2024-02-29");
    assert_eq!(column_types(&p, "date_from_parts"), ["v DATE"]);

    // safe_cast: a plain cast on DuckDB (dbt-duckdb keeps dbt's default).
    assert_eq!(value(&p, "safe_cast"), "42");
    assert_eq!(column_types(&p, "safe_cast"), ["v INTEGER"]);
    // cast (dbt 1.8): cast(field as type).
    assert_eq!(value(&p, "cast_to_type"), "2024-03-01 12:30:00");
    assert_eq!(column_types(&p, "cast_to_type"), ["v TIMESTAMP"]);
    // cast_bool_to_text: cast as TEXT; DuckDB writes `true`.
    assert_eq!(value(&p, "cast_bool_to_text"), "true");

    // The type_* names: api.Column.translate_type maps only string (TEXT);
    // numeric is numeric(28,6).
    assert_eq!(
        row(&p, "type_names"),
        [
            "TEXT",
            "timestamp",
            "float",
            "numeric(28,6)",
            "bigint",
            "integer",
            "boolean"
        ]
    );
    // ... and the DuckDB types they make.
    assert_eq!(
        column_types(&p, "typed_columns"),
        [
            "s VARCHAR",
            "ts TIMESTAMP",
            "f FLOAT",
            "n DECIMAL(28,6)",
            "b BIGINT",
            "i INTEGER",
            "bo BOOLEAN"
        ]
    );

    // hash: md5 of the value cast as text, 32 hex digits.
    assert_eq!(value(&p, "hash"), "900150983cd24fb0d6963f7d28e17f72");
    // concat: fields joined with ||.
    assert_eq!(value(&p, "concat"), "abc");
    // split_part: dbt-duckdb indexes string_split's list, negative from the end.
    assert_eq!(row(&p, "split_part"), ["b", "c"]);
    // _split_part_negative: the part counted from the delimiters, for split_parts without negatives.
    assert_eq!(value(&p, "split_part_negative"), "c");
    // escape_single_quotes doubles quotes; string_literal quotes.
    assert_eq!(value(&p, "escape_single_quotes"), "they're");
    assert_eq!(value(&p, "string_literal"), "hello");
    // position is 1-based; replace, right and length as Postgres's.
    assert_eq!(value(&p, "position"), "2");
    assert_eq!(value(&p, "replace"), "a+b+c");
    assert_eq!(value(&p, "right"), "ef");
    assert_eq!(value(&p, "length"), "6");

    // listagg: dbt-duckdb's string_agg, `','` by default; the order clause
    // goes inside the call; a limit keeps the first values (list_aggr).
    let listagg = row(&p, "listagg");
    let mut plain: Vec<&str> = listagg[0].split(',').collect();
    plain.sort_unstable();
    assert_eq!(plain, ["a", "b", "c"]);
    assert_eq!(listagg[1..], ["a|b|c", "c|b"]);
    // any_value: dbt-duckdb's arbitrary; bool_or as Postgres's.
    assert_eq!(value(&p, "any_value"), "a");
    assert_eq!(value(&p, "bool_or"), "true");

    // current_timestamp is DuckDB's now() (with time zone); the backcompat
    // macros and snapshot_get_time are naive timestamps.
    assert_eq!(
        column_types(&p, "current_timestamps"),
        [
            "now_tz TIMESTAMP WITH TIME ZONE",
            "now_naive TIMESTAMP",
            "now_utc TIMESTAMP",
            "snapshot_time TIMESTAMP"
        ]
    );
    assert!(row(&p, "current_timestamps").iter().all(|v| v != "NULL"));

    // array_construct: Postgres's array[...]; an empty one typed, `integer` by default.
    assert_eq!(row(&p, "array_construct"), ["[1, 2, 3]", "[]", "[]"]);
    assert_eq!(
        column_types(&p, "array_construct"),
        [
            "three INTEGER[]",
            "empty_text VARCHAR[]",
            "empty_default INTEGER[]"
        ]
    );
    // array_append, and array_concat as array_cat.
    assert_eq!(value(&p, "array_append"), "[1, 2, 3]");
    assert_eq!(value(&p, "array_concat"), "[1, 2, 3, 4]");

    // except and intersect: the set keywords, which drop duplicate rows.
    assert_eq!(rows(&p, "set_except"), [["1"], ["3"]]);
    assert_eq!(rows(&p, "set_intersect"), [["2"]]);
    // equals: plain `=` while enable_truthy_nulls_equals_macro is off (dbt's default), so null = null is null.
    assert_eq!(row(&p, "equals"), ["true", "NULL"]);

    // generate_series: dbt-duckdb's generate_series(1, n), bigint.
    assert_eq!(
        rows(&p, "generate_series"),
        [["1"], ["2"], ["3"], ["4"], ["5"]]
    );
    // The generic form (powers of two, a double from power()) gives the same numbers.
    let generic: Vec<Vec<Option<String>>> = (1..=10).map(|i| vec![Some(i.to_string())]).collect();
    assert_eq!(
        p.query("select generated_number from main.generate_series_default order by 1"),
        generic
    );
    assert_eq!(
        column_types(&p, "generate_series_default"),
        ["generated_number DOUBLE"]
    );
    // get_powers_of_two: the first return() wins (the smallest n with 2^n >= bound).
    assert_eq!(row(&p, "powers_of_two"), ["1", "1", "2", "10", "11"]);
    // get_intervals_between runs datediff on the warehouse while compiling.
    assert_eq!(value(&p, "intervals_between"), "30");
    assert!(models["intervals_between"].contains("select 30 as v"));
    // date_spine: start plus 0..n-1 periods, end excluded, as timestamps.
    let days: Vec<Vec<String>> = (1..=5)
        .map(|d| vec![format!("2024-01-0{d} 00:00:00")])
        .collect();
    assert_eq!(rows(&p, "date_spine_day"), days);
    assert_eq!(column_types(&p, "date_spine_day"), ["date_day TIMESTAMP"]);
    // Months from the 31st clamp to each month's end.
    assert_eq!(
        rows(&p, "date_spine_month"),
        [
            ["2024-01-31 00:00:00"],
            ["2024-02-29 00:00:00"],
            ["2024-03-31 00:00:00"],
            ["2024-04-30 00:00:00"]
        ]
    );
}

/// Parses the fixture in-process with a profiles dir of our own.
fn parse_fixture() -> (Renderer, Manifest) {
    let profiles = tempfile::tempdir().unwrap();
    std::fs::write(
        profiles.path().join("profiles.yml"),
        "cross_db:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: cross_db.duckdb}\n",
    )
    .unwrap();
    let options = LoadOptions {
        project_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE),
        profile: ProfileOptions {
            profiles_dir: Some(profiles.path().into()),
            target: None,
        },
        vars: None,
    };
    let project = Project::load(&options, &sluice::render::ProjectJinja).unwrap();
    let renderer = Renderer::new(&project).unwrap();
    let manifest = Manifest::build(&project, &renderer).unwrap();
    (renderer, manifest)
}

#[test]
fn generic_implementations_render_dbt_default_sql() {
    // The default__ macros dbt-duckdb replaces stay callable, rendering dbt's
    // generic SQL (Snowflake-style dateadd, listagg ... within group, to_date).
    let (renderer, manifest) = parse_fixture();
    snapshot_settings().bind(|| {
        let mut count = 0;
        for node in &manifest.nodes {
            if node.resource_type != ResourceType::Analysis {
                continue;
            }
            let sql = compile_node(&renderer, &manifest.resolver, node).unwrap();
            insta::assert_snapshot!(format!("cross_db_analysis__{}", node.name), sql);
            count += 1;
        }
        assert_eq!(count, 9, "every analysis of the fixture");
    });
}

#[test]
fn generic_macros_raise_dbt_errors() {
    let (renderer, _) = parse_fixture();
    // dbt's default current_timestamp is not implemented: adapters must override it.
    let err = renderer
        .call_macro("default__current_timestamp", &[])
        .unwrap_err();
    assert_eq!(
        err.message(),
        "current_timestamp macro not implemented for adapter duckdb"
    );
    // get_powers_of_two needs a positive bound.
    let err = renderer
        .call_macro("get_powers_of_two", &[minijinja::Value::from(0)])
        .unwrap_err();
    assert_eq!(err.message(), "upper bound must be positive");
}
