select [y * 2 for y in [1, 2, 3]] as xs, {'a': 1, 'b': [1, 2]} as st, list_transform([1, 2], x -> x + 1) as lt,
  struct_pack(k := 1) as sp, 1::hugeint as h, 'x' ilike 'X' as il, date '2024-01-01' + interval 3 day as d,
  columns('order.*') , * exclude (status) replace (order_id * 2 as order_id)
from {{ ref('stg_orders') }}
where order_id between 1 and 10 and status similar to 'p.*'
order by all
