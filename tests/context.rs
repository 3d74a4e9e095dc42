//! dbt's invocation context end to end, on a temp copy of example_project:
//! `graph` (empty while parsing, the flat graph once executing),
//! `flags.WHICH` / `flags.FULL_REFRESH`, `selected_resources`, and the
//! relation and column objects of a live `run`.

mod common;

use common::TempProject;

/// A model that prints what it sees of dbt's context into its SQL.
const PROBE: &str = r#"{% if execute %}
{%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | map(attribute='name') | sort -%}
{%- set src = graph.sources.values() | first -%}
{%- set orders = graph.nodes['model.shop_analytics.orders'] -%}
select '{{ models | join(",") }}' as models,
  '{{ src.source_name }}.{{ src.name }}' as source,
  '{{ orders.depends_on.nodes | join(",") }}' as orders_parents,
  '{{ orders.config.materialized }}/{{ orders.access }}/{{ orders.version is none }}' as orders_config,
  '{{ flags.WHICH }}/{{ flags.FULL_REFRESH }}' as which,
  '{{ selected_resources | join(",") }}' as selected
{%- else -%}
select '{{ graph | length }}' as parse_graph_size
{%- endif %}
"#;

/// Pins dbt's `graph` (manifest-shaped nodes and sources at execution),
/// `flags` (the command and `--full-refresh`) and `selected_resources`.
#[test]
fn graph_flags_and_selection_reach_templates() {
    let p = TempProject::new();
    p.write("models/probe.sql", PROBE);
    let run = p.sluice(&["compile", "-s", "probe"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sql = run.stdout;
    assert!(
        sql.contains("'customers,monthly_revenue,orders,probe,stg_customers,stg_orders,stg_payments' as models"),
        "{sql}"
    );
    assert!(sql.contains("'shop.raw_orders' as source"), "{sql}");
    assert!(
        sql.contains(
            "'model.shop_analytics.stg_orders,model.shop_analytics.stg_payments' as orders_parents"
        ),
        "{sql}"
    );
    assert!(
        sql.contains("'table/protected/True' as orders_config"),
        "{sql}"
    );
    assert!(sql.contains("'compile/False' as which"), "{sql}");
    assert!(
        sql.contains("'model.shop_analytics.probe' as selected"),
        "{sql}"
    );
}

/// Pins the live relation and column objects of a `run`: `adapter.get_relation`
/// is typed, `get_columns_in_relation` returns dbt-duckdb columns, and
/// `flags.WHICH` is `run`.
#[test]
fn live_relations_and_columns_in_a_run() {
    let p = TempProject::new();
    let seed = p.sluice(&["seed", "-q"]);
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    p.write(
        "models/probe_cols.sql",
        r#"{% set rel = adapter.get_relation(database=this.database, schema=source('shop', 'raw_orders').schema, identifier='raw_orders') %}
{% set cols = adapter.get_columns_in_relation(rel) if rel is not none else [] %}
select '{{ rel.type if rel is not none else "none" }}' as kind,
  '{{ cols | map(attribute="name") | join(",") }}' as names,
  '{{ (cols | selectattr("dtype", "equalto", "INTEGER") | list | length) > 0 }}' as has_integer,
  '{{ flags.WHICH }}' as which
"#,
    );
    let run = p.sluice(&["run", "-s", "probe_cols", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = p.query("select kind, names, has_integer, which from main.probe_cols");
    let row: Vec<String> = rows[0]
        .iter()
        .map(|v| v.clone().unwrap_or_default())
        .collect();
    assert_eq!(row[0], "table");
    assert!(row[1].starts_with("id,"), "{row:?}");
    assert_eq!(row[2], "True");
    assert_eq!(row[3], "run");
}
