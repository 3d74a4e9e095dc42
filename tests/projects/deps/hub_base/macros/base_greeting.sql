{% macro base_greeting() %}'hello from test_base'{% endmacro %}
