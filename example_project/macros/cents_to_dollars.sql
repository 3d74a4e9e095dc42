{#- Converts an integer amount in cents to dollars, as an exact decimal with `scale` decimals
    (multiplying by the decimal 0.01 keeps it exact; `/ 100` would give a DOUBLE). -#}
{% macro cents_to_dollars(column_name, scale=2) -%}
    cast({{ column_name }} * 0.01 as decimal(18, {{ scale }}))
{%- endmacro %}
