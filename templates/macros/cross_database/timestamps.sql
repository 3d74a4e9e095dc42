{#- The current time, as dbt-core's global project and dbt-duckdb render it:
    `current_timestamp()` is DuckDB's `now()` (a timestamp with time zone),
    `snapshot_get_time()` the same as a naive timestamp. Neither macro uses
    `return()`: they render text, so the dispatched macro's text is what
    callers see. -#}

{%- macro current_timestamp() -%}
    {{ adapter.dispatch('current_timestamp', 'dbt')() }}
{%- endmacro -%}

{#- dbt raises a not-implemented error here; sluice's `exceptions` has no
    `raise_not_implemented`, so the same message is a compiler error. -#}
{% macro default__current_timestamp() -%}
  {{ exceptions.raise_compiler_error(
    'current_timestamp macro not implemented for adapter ' + adapter.type()) }}
{%- endmacro %}

{% macro duckdb__current_timestamp() -%}
  now()
{%- endmacro %}

{%- macro snapshot_get_time() -%}
    {{ adapter.dispatch('snapshot_get_time', 'dbt')() }}
{%- endmacro -%}

{% macro default__snapshot_get_time() %}
    {{ current_timestamp() }}
{% endmacro %}

{#- DuckDB, as dbt-duckdb: snapshots store naive timestamps. -#}
{% macro duckdb__snapshot_get_time() -%}
  {{ current_timestamp() }}::timestamp
{%- endmacro %}


{#- Deprecated in dbt, kept for packages written against dbt_utils'
    `current_timestamp()`: the current time as a naive timestamp. -#}
{% macro current_timestamp_backcompat() %}
    {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{% endmacro %}

{% macro default__current_timestamp_backcompat() %}
    current_timestamp::timestamp
{% endmacro %}

{#- Deprecated too: the backcompat time, which on DuckDB is not converted. -#}
{% macro current_timestamp_in_utc_backcompat() %}
    {{ return(adapter.dispatch('current_timestamp_in_utc_backcompat', 'dbt')()) }}
{% endmacro %}

{% macro default__current_timestamp_in_utc_backcompat() %}
    {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{% endmacro %}
