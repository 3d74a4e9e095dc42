{#- `equals(a, b)`, the comparison dbt's incremental merge and snapshot
    macros join keys with, as dbt-core's global project renders it. -#}

{% macro equals(expr1, expr2) %}
    {{ return(adapter.dispatch('equals', 'dbt') (expr1, expr2)) }}
{%- endmacro %}

{#- Plain `=` unless the adapter's behavior flag
    `enable_truthy_nulls_equals_macro` is on (dbt's default: off), when two
    nulls are equal too. sluice's adapter has no behavior flags yet, so the
    flag reads as off. -#}
{% macro default__equals(expr1, expr2) -%}
{%- if adapter.behavior is defined and adapter.behavior.enable_truthy_nulls_equals_macro.no_warn %}
    case when (({{ expr1 }} = {{ expr2 }}) or ({{ expr1 }} is null and {{ expr2 }} is null))
        then 0
        else 1
    end = 0
{%- else -%}
    ({{ expr1 }} = {{ expr2 }})
{%- endif %}
{% endmacro %}
