{#- run_query as dbt users write it (dbt_utils.get_column_values style): the
    statuses come from the built upstream model at run time, so a new status
    in the seed becomes a new column without editing this file. -#}
{%- set statuses_query -%}
    select distinct status from {{ ref('labelled_events') }} join {{ ref('events') }} using (id) order by 1
{%- endset -%}
{%- if execute -%}
    {%- set statuses = run_query(statuses_query).columns[0].values() -%}
{%- else -%}
    {%- set statuses = [] -%}
{%- endif -%}

{%- call statement('totals', fetch_result=True) -%}
    select count(*) as n from {{ ref('events') }}
{%- endcall -%}
{%- set total = load_result('totals')['data'][0][0] if execute else 0 %}

select
    {%- for status in statuses %}
    sum(case when status = '{{ status }}' then amount else 0 end) as {{ status }}_amount,
    {%- endfor %}
    {% call comment_block('total rows when compiled') %}{{ total }}{% endcall %} as events_at_compile
from {{ ref('events') }}
