//! `sluice show` end to end: the real binary on a temp copy of
//! example_project built into a real DuckDB file, compared with what dbt's
//! `show` prints (dbt-core `task/show.py` and `ShowNode`; agate's
//! `print_table` and `to_json`).

mod common;

use common::{scrub, TempProject};

/// A model over the built `customers` mart with a fixed order: integers,
/// text (one non-ASCII name), a date with NULLs and a decimal.
const PREVIEW_MODEL: &str = "\
select customer_id, full_name, country, first_order_date, number_of_orders, lifetime_value
from {{ ref('customers') }}
where customer_id in (1, 2, 7, 17)
order by customer_id
";

/// The example project with `models/preview/customer_preview.sql`, built.
fn built() -> TempProject {
    let p = TempProject::new();
    p.write("models/preview/customer_preview.sql", PREVIEW_MODEL);
    let run = p.sluice(&["build", "-q"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    p
}

const PREVIEW_TABLE: &str = "\
| customer_id | full_name     | country | first_order_date | number_of_orders | lifetime_value |
| ----------- | ------------- | ------- | ---------------- | ---------------- | -------------- |
|           1 | Noah Smith    | BR      |       2024-06-23 |                2 |         371.00 |
|           2 | James Kim     | DE      |       2024-04-15 |                5 |       1,093.98 |
|           7 | Ava Novak     | IN      |                  |                0 |           0.00 |
|          17 | Elijah Müller | BR      |                  |                0 |           0.00 |
";

#[test]
fn show_prints_a_model_as_dbt_does() {
    // dbt's show (ShowNode + agate print_table): "Previewing node 'name':",
    // a header row and a `| --- |` separator; text left-aligned, integers,
    // dates and numbers right-aligned; NULL as an empty cell; a decimal
    // column with thousands separators and its widest fraction.
    let p = built();
    let run = p.sluice(&["show", "-s", "customer_preview"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("Previewing node 'customer_preview':\n{PREVIEW_TABLE}")
    );
    // --quiet prints the table alone, as dbt's ShowNode with QUIET.
    let run = p.sluice(&["show", "--select", "customer_preview", "-q"]);
    assert_eq!(run.stdout, PREVIEW_TABLE);
    assert_eq!(run.stderr, "");
}

#[test]
fn show_json_is_dbts_shape() {
    // dbt's `show --output json`: json.dumps({"node", "show"}, indent=2) of
    // agate's to_json rows: integers as integers, decimals as floats, dates
    // in ISO 8601, NULL as null, non-ASCII escaped (Python's ensure_ascii).
    let p = built();
    let run = p.sluice(&[
        "show",
        "-s",
        "customer_preview",
        "--output",
        "json",
        "--limit",
        "3",
    ]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let expected = r#"{
  "node": "customer_preview",
  "show": [
    {
      "customer_id": 1,
      "full_name": "Noah Smith",
      "country": "BR",
      "first_order_date": "2024-06-23",
      "number_of_orders": 2,
      "lifetime_value": 371.0
    },
    {
      "customer_id": 2,
      "full_name": "James Kim",
      "country": "DE",
      "first_order_date": "2024-04-15",
      "number_of_orders": 5,
      "lifetime_value": 1093.98
    },
    {
      "customer_id": 7,
      "full_name": "Ava Novak",
      "country": "IN",
      "first_order_date": null,
      "number_of_orders": 0,
      "lifetime_value": 0.0
    }
  ]
}
"#;
    assert_eq!(run.stdout, expected);
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows["show"].as_array().unwrap().len(), 3);
    // The escape is JSON's: the name reads back intact.
    let run = p.sluice(&["show", "-s", "customer_preview", "-o", "json", "-q"]);
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        run.stdout.contains(r#""Elijah M\u00fcller""#),
        "{}",
        run.stdout
    );
    assert_eq!(rows["show"][3]["full_name"], "Elijah Müller");
}

#[test]
fn limit_wraps_the_query_and_keeps_its_own_limit() {
    // dbt's --limit: default 5 rows, `--limit n` fetches n, a negative
    // limit fetches every row; the SQL's own `limit` still applies (the
    // query runs as `select * from (...) limit n`).
    let p = built();
    let data_rows = |stdout: &str| stdout.lines().count() - 2;
    let run = p.sluice(&["show", "-q", "-s", "orders"]);
    assert_eq!((run.code, data_rows(&run.stdout)), (0, 5), "{}", run.stderr);
    let run = p.sluice(&["show", "-q", "-s", "orders", "--limit", "2"]);
    assert_eq!(data_rows(&run.stdout), 2);
    let run = p.sluice(&["show", "-q", "-s", "orders", "--limit", "-1"]);
    assert_eq!(
        data_rows(&run.stdout) as i64,
        p.scalar("select count(*) from main_marts.orders")
    );
    let run = p.sluice(&[
        "show",
        "-q",
        "--inline",
        "select order_id from {{ ref('orders') }} order by order_id limit 3",
        "--limit",
        "10",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "| order_id |\n| -------- |\n|        1 |\n|        2 |\n|        3 |\n"
    );
    let run = p.sluice(&["show", "-q", "-s", "customer_preview", "--limit", "0"]);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
}

#[test]
fn inline_sql_with_ref_previews_as_the_inline_node() {
    // dbt's `show --inline`: the SQL is compiled in the project's context
    // (ref resolved) and previewed under "Previewing inline node:"; its
    // JSON has no "node" key.
    let p = built();
    let sql = "select customer_id, full_name from {{ ref('customer_preview') }} order by 1 desc";
    let run = p.sluice(&["show", "--inline", sql, "--limit", "2"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(
        run.stdout,
        "Previewing inline node:\n\
         | customer_id | full_name     |\n\
         | ----------- | ------------- |\n\
         |          17 | Elijah Müller |\n\
         |           7 | Ava Novak     |\n"
    );
    let run = p.sluice(&["show", "--inline", sql, "--limit", "1", "-o", "json"]);
    assert_eq!(
        run.stdout,
        "{\n  \"show\": [\n    {\n      \"customer_id\": 17,\n      \"full_name\": \"Elijah M\\u00fcller\"\n    }\n  ]\n}\n"
    );
}

#[test]
fn an_unbuilt_model_is_previewed_from_its_built_parents_and_nothing_is_written() {
    // dbt's show runs the model's compiled SQL, not its table: a model never
    // built previews from its parents; an ephemeral parent is inlined as a
    // CTE. Nothing reaches the warehouse (the file opens read-only).
    let p = built();
    p.write(
        "models/preview/eph_big_spenders.sql",
        "{{ config(materialized='ephemeral') }}\n\
         select customer_id, lifetime_value from {{ ref('customers') }} where lifetime_value > 1000\n",
    );
    p.write(
        "models/preview/big_spender_count.sql",
        "select count(*) as big_spenders from {{ ref('eph_big_spenders') }}\n",
    );
    let before = std::fs::read(p.db_path()).unwrap();
    let run = p.sluice(&["show", "-q", "-s", "big_spender_count"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let expected =
        p.scalar("select count(*) from main_marts.customers where lifetime_value > 1000");
    assert_eq!(
        run.stdout,
        format!("| big_spenders |\n| ------------ |\n| {expected:>12} |\n")
    );
    // --inline SQL that refs an ephemeral model gets its CTE too.
    let run = p.sluice(&[
        "show",
        "-q",
        "--inline",
        "select count(*) as n from {{ ref('eph_big_spenders') }}",
    ]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let w = expected.to_string().len();
    assert_eq!(
        run.stdout,
        format!(
            "| {:>w$} |\n| {} |\n| {expected:>w$} |\n",
            "n",
            "-".repeat(w)
        )
    );
    assert_eq!(
        std::fs::read(p.db_path()).unwrap(),
        before,
        "show changed the database file"
    );
    assert_eq!(
        p.scalar(
            "select count(*) from information_schema.tables where table_name = 'big_spender_count'"
        ),
        0
    );
}

#[test]
fn a_selection_of_several_models_previews_each() {
    // dbt previews every node it runs for `show`; sluice previews each
    // selected model, in manifest order, a blank line between them.
    let p = built();
    let run = p.sluice(&[
        "show",
        "-s",
        "customer_preview",
        "stg_customers",
        "--limit",
        "1",
    ]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let headings: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Previewing"))
        .collect();
    assert_eq!(
        headings,
        [
            "Previewing node 'customer_preview':",
            "Previewing node 'stg_customers':"
        ]
    );
    assert!(
        run.stdout
            .contains(" |\n\nPreviewing node 'stg_customers':\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_sql_error_points_at_the_model_line() {
    // dbt's show fails the node (exit 1) when the warehouse rejects its SQL;
    // sluice, as its `run`, points at the line in the model's own file.
    let p = built();
    p.write(
        "models/preview/bad_column.sql",
        "select\n    customer_id,\n    no_such_column\nfrom {{ ref('customers') }}\n",
    );
    let run = p.sluice(&["show", "-q", "-s", "bad_column"]);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--> models/preview/bad_column.sql:3:5\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("= hint: fix the SQL of `models/preview/bad_column.sql`, then preview it again with `sluice show -s bad_column`\n"),
        "{}",
        run.stderr
    );
    // --inline SQL that DuckDB cannot parse: exit 1, located in the SQL given.
    let run = p.sluice(&[
        "show",
        "-q",
        "--inline",
        "select * fro {{ ref('customers') }}",
    ]);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    assert!(run.stderr.contains("Parser Error"), "{}", run.stderr);
    assert!(run.stderr.contains("--> <inline>:1:14\n"), "{}", run.stderr);
}

#[test]
fn unbuilt_parents_unknown_models_and_a_missing_database_are_clear_errors() {
    // A parent that is not built: dbt's show fails the node; sluice says
    // which relation is missing, at the ref, and how to build it (exit 1).
    let p = built();
    p.write(
        "models/preview/child.sql",
        "select *\nfrom {{ ref('never_built') }}\n",
    );
    p.write("models/preview/never_built.sql", "select 1 as id\n");
    let run = p.sluice(&["show", "-q", "-s", "child"]);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("show_unbuilt_parent", scrub(&run.stderr, &p));
    });
    // A selection that matches no model: a usage error (exit 2) with a
    // "did you mean"; nothing selected at all is one too, as dbt's
    // "Either --select or --inline must be passed to show".
    let run = p.sluice(&["show", "-q", "-s", "customer_previw"]);
    assert_eq!(run.code, 2, "stderr:\n{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: `--select customer_previw` matches no model or analysis\n |\n = hint: did you mean `customer_preview`?\n"
    );
    let run = p.sluice(&["show", "-q"]);
    assert_eq!(run.code, 2);
    assert!(run
        .stderr
        .starts_with("error: `sluice show` needs `--select` or `--inline`\n"));
    // No database yet: say so, with a hint, and create nothing (exit 2).
    let fresh = TempProject::new();
    let run = fresh.sluice(&["show", "-q", "-s", "orders"]);
    assert_eq!(run.code, 2, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("does not exist yet\n |\n = hint: run `sluice build` first"),
        "{}",
        run.stderr
    );
    assert!(!fresh.db_path().exists());
}

#[test]
fn text_preview_snapshot() {
    // agate's print_table as dbt's show calls it: at most 6 columns, then a
    // `...` column; values and names over 20 characters cut to 17 + `...`;
    // booleans as Python's True/False; timestamps as Python's str();
    // decimals with more than 3 places rounded and marked `…`; a newline as `↵`.
    let p = built();
    let sql = "select customer_id, full_name || chr(10) || email as contact, \
               customer_id % 2 = 0 as even, \
               cast(first_order_date as timestamp) + interval 90 minute as first_order_at, \
               lifetime_value / 7 as weekly_value, number_of_orders, country, email \
               from {{ ref('customers') }} where customer_id in (1, 2, 7) order by customer_id";
    let run = p.sluice(&["show", "--inline", sql]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("show_text_preview", run.stdout);
    });
}
