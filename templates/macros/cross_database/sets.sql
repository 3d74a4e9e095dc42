{#- Set operators of dbt's cross-database macros, as dbt-core's global project
    renders them (dbt-duckdb overrides neither): the keyword, for
    `select ... {{ except() }} select ...`. Both remove duplicate rows. -#}

{% macro except() %}
  {{ return(adapter.dispatch('except', 'dbt')()) }}
{% endmacro %}

{% macro default__except() %}

    except

{% endmacro %}


{% macro intersect() %}
  {{ return(adapter.dispatch('intersect', 'dbt')()) }}
{% endmacro %}

{% macro default__intersect() %}

    intersect

{% endmacro %}
