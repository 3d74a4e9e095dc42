{% macro git_macro() %}'from git'{% endmacro %}
