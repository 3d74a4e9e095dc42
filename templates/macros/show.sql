{#- How `sluice show` turns a node's compiled SQL into the query it runs, as
    dbt's `get_show_sql` (dbt-adapters macros/adapters/show.sql). The limit
    wraps the SQL in a subquery, as dbt's `model_limit_subq` did before
    dbt-adapters 1.3 (since then dbt appends a bare `limit`, a syntax error
    after a query's own `limit`), so a query with its own `limit` keeps it
    and the preview's limit applies on top. A project macro `get_show_sql`
    or `default__get_limit_sql` replaces these. -#}

{% macro get_show_sql(compiled_code, sql_header, limit) -%}
  {%- if sql_header is not none -%}
  {{ sql_header }}
  {% endif -%}
  {{ get_limit_subquery_sql(compiled_code, limit) }}
{%- endmacro %}

{% macro get_limit_subquery_sql(sql, limit) -%}
  {{ return(adapter.dispatch('get_limit_sql', 'dbt')(sql, limit)) }}
{%- endmacro %}

{% macro default__get_limit_sql(sql, limit) -%}
  {%- if limit is none -%}
{{ sql }}
  {%- else -%}
select * from (
{{ sql }}
) as model_limit_subq
limit {{ limit }}
  {%- endif -%}
{%- endmacro %}
