{#- adapter.dispatch as dbt resolves it: `duckdb__` wins over `default__`. -#}
{% macro label(column) -%}
    {{ return(adapter.dispatch('label')(column)) }}
{%- endmacro %}

{% macro default__label(column) -%}
    'generic:' || {{ column }}
{%- endmacro %}

{% macro duckdb__label(column) -%}
    'duckdb:' || {{ column }}
{%- endmacro %}
