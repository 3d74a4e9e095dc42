{#- A package macro: callable from the root project's models. -#}
{% macro to_cents(column) -%}
    ({{ column }} * {{ var('cents_per_unit') }})::bigint
{%- endmacro %}
