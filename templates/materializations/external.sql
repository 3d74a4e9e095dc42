{#-
  The `external` materialization's SQL (dbt-duckdb's): the model's rows are
  copied to a file with DuckDB's COPY, and a view over the file takes the
  model's place. The order of operations is in src/materialize/external.rs.
-#}

{% macro write_to_file(relation, location, options) -%}
copy {{ relation }} to '{{ location }}' ({{ options }})
{%- endmacro %}
