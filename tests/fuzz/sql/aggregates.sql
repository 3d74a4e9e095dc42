select customer_id, sum(amount) filter (where amount > 0) as s, avg(amount)::decimal(18, 2) as a,
  string_agg(distinct status, ',' order by status) as st, array_agg(order_id) as ids,
  percentile_cont(0.5) within group (order by amount) as med, grouping(customer_id) as g
from {{ ref('orders') }}
group by rollup (customer_id)
having count(*) > 1
