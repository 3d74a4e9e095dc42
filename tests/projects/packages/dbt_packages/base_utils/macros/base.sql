{% macro double(x) -%}
    ({{ x }} * 2)
{%- endmacro %}
{% macro default__greeting() %}{{ return('greeting from base_utils') }}{% endmacro %}
{% macro default__farewell() %}{{ return('farewell from base_utils') }}{% endmacro %}
