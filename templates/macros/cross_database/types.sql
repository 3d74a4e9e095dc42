{#- Type names and casts of dbt's cross-database macros, as dbt-core's
    global project renders them on DuckDB (dbt-duckdb overrides none).

    The `type_*` macros return a type name (a value, not text) from dbt's
    `api.Column`: `translate_type` maps only `string` (to `TEXT`) and hands
    every other name back as given, so on DuckDB they are `TEXT`,
    `timestamp`, `float`, `numeric(28,6)`, `bigint`, `integer` and `boolean`. -#}

{%- macro type_string() -%}
  {{ return(adapter.dispatch('type_string', 'dbt')()) }}
{%- endmacro -%}

{% macro default__type_string() %}
    {{ return(api.Column.translate_type("string")) }}
{% endmacro %}

{#- A naive timestamp (no time zone). -#}
{%- macro type_timestamp() -%}
  {{ return(adapter.dispatch('type_timestamp', 'dbt')()) }}
{%- endmacro -%}

{% macro default__type_timestamp() %}
    {{ return(api.Column.translate_type("timestamp")) }}
{% endmacro %}

{#- `float` is DuckDB's 4-byte float (REAL). -#}
{%- macro type_float() -%}
  {{ return(adapter.dispatch('type_float', 'dbt')()) }}
{%- endmacro -%}

{% macro default__type_float() %}
    {{ return(api.Column.translate_type("float")) }}
{% endmacro %}

{#- A fixed precision and scale, so values round the same everywhere. -#}
{%- macro type_numeric() -%}
  {{ return(adapter.dispatch('type_numeric', 'dbt')()) }}
{%- endmacro -%}

{% macro default__type_numeric() %}
    {{ return(api.Column.numeric_type("numeric", 28, 6)) }}
{% endmacro %}

{%- macro type_bigint() -%}
  {{ return(adapter.dispatch('type_bigint', 'dbt')()) }}
{%- endmacro -%}

{% macro default__type_bigint() %}
    {{ return(api.Column.translate_type("bigint")) }}
{% endmacro %}

{%- macro type_int() -%}
  {{ return(adapter.dispatch('type_int', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_int() -%}
  {{ return(api.Column.translate_type("integer")) }}
{%- endmacro -%}

{%- macro type_boolean() -%}
  {{ return(adapter.dispatch('type_boolean', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_boolean() -%}
  {{ return(api.Column.translate_type("boolean")) }}
{%- endmacro -%}


{#- dbt 1.8's `cast(field, type)`: `type` is SQL text, often a type_* macro. -#}
{% macro cast(field, type) %}
  {{ return(adapter.dispatch('cast', 'dbt') (field, type)) }}
{% endmacro %}

{% macro default__cast(field, type) %}
    cast({{field}} as {{type}})
{% endmacro %}


{#- Meant to yield null where a value does not convert; dbt's default and
    dbt-duckdb keep a plain cast, which fails instead (DuckDB's try_cast is not
    used). -#}
{% macro safe_cast(field, type) %}
  {{ return(adapter.dispatch('safe_cast', 'dbt') (field, type)) }}
{% endmacro %}

{% macro default__safe_cast(field, type) %}
    {# a plain cast, as dbt's default #}
    cast({{field}} as {{type}})
{% endmacro %}


{#- A boolean as text: DuckDB writes `true`/`false`. Renders text (no
    `return()`), as dbt. -#}
{% macro cast_bool_to_text(field) %}
  {{ adapter.dispatch('cast_bool_to_text', 'dbt') (field) }}
{% endmacro %}

{% macro default__cast_bool_to_text(field) %}
    cast({{ field }} as {{ api.Column.translate_type('string') }})
{% endmacro %}
