{% macro tar_macro() %}'from a tarball'{% endmacro %}
