{#- modules.datetime as dbt exposes Python's: a week of dates from a var. -#}
{%- set start = modules.datetime.datetime.strptime(var('calendar_start', '2024-01-29'), '%Y-%m-%d') -%}
{%- for offset in range(7) %}
{%- set day = start.add(modules.datetime.timedelta(days=offset)) %}
select date '{{ day.strftime("%Y-%m-%d") }}' as day, {{ day.isoweekday() }} as iso_weekday, '{{ day.strftime("%B") }}' as month_name
{%- if not loop.last %} union all{% endif %}
{%- endfor %}
