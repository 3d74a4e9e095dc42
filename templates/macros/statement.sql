{#- Statements run while compiling, as dbt's core macros (statement.sql, etc.).
    They run only when `execute` is true: the parse render runs nothing and
    `load_result` returns none there, so guard uses with `{% if execute %}`. -#}

{%- macro statement(name=None, fetch_result=False, auto_begin=True, language='sql') -%}
  {%- if execute -%}
    {%- set compiled_code = caller() -%}
    {%- set res = adapter.execute(compiled_code, auto_begin=auto_begin, fetch=fetch_result) -%}
    {%- if name is not none -%}
      {{ store_result(name, response=res[0], agate_table=res[1]) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{% macro run_query(sql) %}
  {% call statement("run_query_statement", fetch_result=true, auto_begin=false) %}
    {{ sql }}
  {% endcall %}
  {% do return(load_result("run_query_statement").table) %}
{% endmacro %}
