{% macro inner_macro() %}'from a subdirectory'{% endmacro %}
