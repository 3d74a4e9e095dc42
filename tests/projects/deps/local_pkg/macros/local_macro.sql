{% macro local_macro() %}'from a local folder'{% endmacro %}
