{#-
  The `view` materialization's SQL: the view is created under an
  intermediate name and renamed into place in one transaction, like tables.
-#}

{% macro create_view_as(relation, compiled_code) -%}
    {{ return(adapter.dispatch('create_view_as', 'dbt')(relation, compiled_code)) }}
{%- endmacro %}

{% macro default__create_view_as(relation, compiled_code) -%}
create view {{ relation }} as (
{{ compiled_code }}
)
{%- endmacro %}
