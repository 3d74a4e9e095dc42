{# The root project's versions of names the packages also define. #}
{% macro default__greeting() %}{{ return('greeting from root') }}{% endmacro %}
{% macro default__farewell() %}{{ return('farewell from root') }}{% endmacro %}
{% macro inner_name() %}{{ return('root inner_name') }}{% endmacro %}
