{#-
  The `table` materialization's SQL. sluice runs, in one transaction:
  create_table_as(intermediate) -> drop the old relation -> rename the
  intermediate into place, so a failure leaves the previous table intact
  (dbt's table materialization does the same with a backup relation).
-#}

{% macro create_table_as(temporary, relation, compiled_code) -%}
    {{ return(adapter.dispatch('create_table_as', 'dbt')(temporary, relation, compiled_code)) }}
{%- endmacro %}

{% macro default__create_table_as(temporary, relation, compiled_code) -%}
create {% if temporary %}temporary {% endif %}table {{ relation }} as (
{{ compiled_code }}
)
{%- endmacro %}

{#-
  Model contracts (dbt 1.5). sluice describes the model's SQL as a query of
  zero rows (get_empty_subquery_sql) and the contract's types as one NULL
  of each (get_empty_schema_sql), so DuckDB itself spells both sides, and
  compares the two in Rust before anything is written, as dbt's
  assert_columns_equivalent. A contracted table is then created from its
  declared columns and constraints and filled with an insert, as
  dbt-duckdb's create_table_as does, inside the same atomic swap.
-#}

{% macro get_empty_subquery_sql(select_sql, select_sql_header=none) -%}
    {{ return(adapter.dispatch('get_empty_subquery_sql', 'dbt')(select_sql, select_sql_header)) }}
{%- endmacro %}

{% macro default__get_empty_subquery_sql(select_sql, select_sql_header=none) -%}
{%- if select_sql_header is not none %}{{ select_sql_header }}
{% endif -%}
select * from (
{{ select_sql }}
) as __dbt_sbq
where false
limit 0
{%- endmacro %}

{#- `columns`: the model's YAML columns by name, as dbt's `model['columns']`.
    Names are always quoted, so DuckDB reports them exactly as declared. -#}
{% macro get_empty_schema_sql(columns) -%}
    {{ return(adapter.dispatch('get_empty_schema_sql', 'dbt')(columns)) }}
{%- endmacro %}

{% macro default__get_empty_schema_sql(columns) -%}
select
{%- for name in columns %}
    {%- set col = columns[name] %}
    cast(null as {{ col['data_type'] }}) as {{ adapter.quote(col['name']) }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- `column_ddl`: `name type constraints` per column; `model_constraints`: the model-level ones. -#}
{% macro get_table_columns_and_constraints(column_ddl, model_constraints) -%}
    {{ return(adapter.dispatch('get_table_columns_and_constraints', 'dbt')(column_ddl, model_constraints)) }}
{%- endmacro %}

{% macro default__get_table_columns_and_constraints(column_ddl, model_constraints) -%}
(
{%- for c in column_ddl %}
    {{ c }}{{ "," if not loop.last or model_constraints }}
{%- endfor %}
{%- for c in model_constraints %}
    {{ c }}{{ "," if not loop.last }}
{%- endfor %}
)
{%- endmacro %}

{% macro get_select_subquery(column_names, compiled_code) -%}
select {{ column_names | join(', ') }}
from (
{{ compiled_code }}
) as model_subq
{%- endmacro %}

{#- The contracted form of create_table_as: typed, constrained columns, then the rows. -#}
{% macro create_table_with_constraints(relation, columns_and_constraints, column_names, compiled_code) -%}
    {{ return(adapter.dispatch('create_table_with_constraints', 'dbt')(relation, columns_and_constraints, column_names, compiled_code)) }}
{%- endmacro %}

{% macro default__create_table_with_constraints(relation, columns_and_constraints, column_names, compiled_code) -%}
create table {{ relation }} {{ columns_and_constraints }};
insert into {{ relation }} ({{ column_names | join(', ') }})
{{ get_select_subquery(column_names, compiled_code) }}
{%- endmacro %}
