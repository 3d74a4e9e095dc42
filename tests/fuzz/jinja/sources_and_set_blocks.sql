{% set query %}
select distinct status from {{ source('shop', 'raw_orders') }}
{% endset %}
{% if execute %}{% set statuses = [] %}{% endif %}
{%- call statement('s', fetch_result=True) -%} select 1 {%- endcall -%}
{% filter upper %}select{% endfilter %} *
from {{ source('shop', 'raw_orders') }}
{# a comment {{ not rendered }} #}
{% raw %}{{ kept }}{% endraw %}
where 1 = {{ 1 if flags.FULL_REFRESH else 1 }}
