{%- set cols = [] -%}
{%- do cols.append('order_id') -%}
{%- do cols.extend(['customer_id', 'status']) -%}
{%- set d = {'a': 1, 'b': [1, 2]} -%}
{%- do d.update({'c': 3}) -%}
{%- set ns = namespace(n=0) -%}
{%- for k, v in d.items() | sort %}{% set ns.n = ns.n + 1 %}{% endfor -%}
select {{ cols | join(', ') }}, {{ ns.n }} as n, '{{ "%s-%d" % ("x", 3) }}' as s,
  '{{ "{}:{}".format(1, 2) }}' as f, {{ d.get('z', 0) }} as z,
  '{{ modules.datetime.date(2024, 1, 2) + modules.datetime.timedelta(days=3) }}' as dt,
  {{ 'abc'.upper() | length }} as l, '{{ ' x '.strip() ~ "y".replace("y", "z") }}' as r
from {{ ref('stg_orders') }}
