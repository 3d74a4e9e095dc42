{% macro cents(column) -%}
    ({{ column }} * 100)::integer
{%- endmacro %}

{# Builds a list and a dict by mutation, as dbt_utils.star does. #}
{% macro column_list(relation) %}
    {#- As dbt_utils: nothing to introspect while parsing. -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set names = [] -%}
    {%- set seen = {} -%}
    {%- for col in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append(col.name) -%}
        {%- do seen.update({col.name: loop.index}) -%}
    {%- endfor -%}
    {%- set _ = names.pop() -%}
    {{ return("%s|%d" % (names | join(','), seen | length)) }}
{% endmacro %}

{% macro greeting() %}{{ return(adapter.dispatch('greeting', 'helpers')()) }}{% endmacro %}
{% macro default__greeting() %}{{ return('greeting from helpers') }}{% endmacro %}

{% macro farewell() %}{{ return(adapter.dispatch('farewell', 'base_utils')()) }}{% endmacro %}

{# Unqualified calls inside a package find the package's own macro first. #}
{% macro local_first() %}{{ return(inner_name()) }}{% endmacro %}
{% macro inner_name() %}{{ return('helpers inner_name') }}{% endmacro %}

{# dbt's return() stops the macro: the second return never runs. #}
{% macro early_return(flag) %}
    {%- if flag -%}{{ return('first') }}{%- endif -%}
    {{ return('second') }}
{% endmacro %}

{% test is_positive(model, column_name) %}
select * from {{ model }} where {{ column_name }} <= 0
{% endtest %}

{# Fails unless `day` is the date expected: a test argument written as one
   `{{ expression }}` arrives as the expression's value. #}
{% test is_day(model, day, expected) %}
select * from {{ model }} where '{{ day }}' <> '{{ expected }}' or {{ day.year }} <> 2024
{% endtest %}

{# Jinja2's catch-alls: extra keyword arguments land in `kwargs`, extra positional ones in `varargs`. #}
{% macro with_extras(a) %}{{ return(a ~ '|' ~ kwargs.get('flavour', 'none') ~ '|' ~ (varargs | length)) }}{% endmacro %}

{# api.Column methods on what adapter.get_columns_in_relation returns, as dbt_utils' star and union_relations use them. #}
{% macro column_kinds(relation) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set kinds = [] -%}
    {%- for col in adapter.get_columns_in_relation(relation) -%}
        {%- do kinds.append(col.name ~ ':' ~ ('s' if col.is_string() else ('n' if col.is_number() else 'o'))) -%}
    {%- endfor -%}
    {{ return(kinds | join(',')) }}
{% endmacro %}

{# The `graph` context variable, as dbt_project_evaluator reads it. #}
{% macro count_models() %}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | list -%}
    {{ return(models | length) }}
{% endmacro %}

{# dbt_utils' `equality` idiom: two relations have the same columns when the
   sets of their lower-cased quoted names, less the excluded ones (compared
   lower-cased), are equal: Python sets, so the column order does not matter. #}
{% macro same_columns(a, b, exclude=[]) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set exclude = exclude | map('lower') | list -%}
    {%- set column_sets = [] -%}
    {%- for relation in [a, b] -%}
        {%- set kept = [] -%}
        {%- for col in adapter.get_columns_in_relation(relation) -%}
            {%- if col.name | lower not in exclude -%}{%- do kept.append(col) -%}{%- endif -%}
        {%- endfor -%}
        {%- do column_sets.append(set(kept | map(attribute='quoted') | map('lower'))) -%}
    {%- endfor -%}
    {{ return('same' if column_sets[0] == column_sets[1] else 'different') }}
{% endmacro %}

{# Lists that are Python lists in dbt's Jinja take append, insert and pop:
   adapter results and what `list`, `sort`, `dictsort` and `split` return. #}
{% macro grown_lists(relation) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set cols = adapter.get_columns_in_relation(relation) -%}
    {%- set last = cols.pop() -%}
    {%- set names = cols | map(attribute='name') | list -%}{%- do names.append(last.name) -%}
    {%- set ordered = names | sort -%}{%- do ordered.append('s') -%}
    {%- set kept = names | reject('equalto', 'id') | list -%}{%- do kept.append('r') -%}
    {%- set picked = names | select('equalto', 'id') | list -%}{%- do picked.append('p') -%}
    {%- set once = (names + ['ID']) | unique | list -%}{%- do once.insert(0, 'u') -%}
    {%- set parts = 'x.y'.split('.') -%}{%- do parts.append('z') -%}
    {%- set weights = {'b': 1, 'a': 2} -%}
    {%- set keys = weights.keys() | list -%}{%- do keys.append('k') -%}
    {%- set pairs = weights | dictsort -%}{%- do pairs.append(('z', 0)) -%}
    {%- set nums = range(3) | list -%}{%- do nums.append(9) -%}
    {%- set lists = [names, ordered, kept, picked, once, parts, keys, pairs | map('first') | list, nums] -%}
    {{ return(lists | map('join', ',') | join('|')) }}
{% endmacro %}

{# As dbt_project_evaluator's insert_resources_from_graph: a post-hook whose
   statement block inserts a row per model of the flat graph into `this`. #}
{% macro insert_models_from_graph(relation) %}
  {% if execute %}
    {%- set rows = [] -%}
    {%- for node in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | sort(attribute='unique_id') -%}
      {%- do rows.append("('%s', %s, '%s', '%s')" % (node.unique_id, node.config.enabled, node.config.on_schema_change, node.config.materialized)) -%}
    {%- endfor -%}
    {% call statement('insert_models') -%}
      insert into {{ relation }} values {{ rows | join(', ') }}
    {%- endcall %}
  {% endif %}
{% endmacro %}
