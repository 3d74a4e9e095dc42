{#-
  Seeds are read by DuckDB's own CSV reader. `column_types` overrides the
  sniffed type of the named columns; `delimiter` sets the separator.
-#}

{% macro load_csv_rows(path, delimiter, column_types) -%}
    {{ return(adapter.dispatch('load_csv_rows', 'dbt')(path, delimiter, column_types)) }}
{%- endmacro %}

{% macro default__load_csv_rows(path, delimiter, column_types) -%}
select * from read_csv('{{ path | replace("'", "''") }}', header = true, auto_detect = true, delim = '{{ delimiter | replace("'", "''") }}'
{%- if column_types %}, types = { {% for name, type in column_types | items %}'{{ name | replace("'", "''") }}': '{{ type | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %} }{% endif %})
{%- endmacro %}
