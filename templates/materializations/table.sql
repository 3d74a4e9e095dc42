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
