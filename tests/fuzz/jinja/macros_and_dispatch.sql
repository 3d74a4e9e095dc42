{% macro local_helper(x, y=2) -%}
  ({{ x }} * {{ y }})
{%- endmacro %}
select
  {{ local_helper('amount') }} as doubled,
  {{ dbt.date_trunc('month', 'order_date') }} as month,
  {{ dbt.type_string() }} as t,
  {{ adapter.dispatch('concat', 'dbt')(["'a'", "'b'"]) }} as c,
  {{ dbt.safe_cast('amount', api.Column.translate_type('string')) }} as s,
  {{ var('start_date') | tojson }} as v,
  '{{ env_var('HOME', 'none') | length }}' as e,
  '{{ target.name }}_{{ target.schema }}_{{ this.identifier }}' as names
from {{ ref('orders') }}
where order_date >= '{{ var("start_date") }}'
