with recursive t(n) as (select 1 union all select n + 1 from t where n < 5),
u as (select order_id as id from {{ ref('stg_orders') }} union select customer_id from {{ ref('stg_customers') }}
      except select payment_id from {{ ref('stg_payments') }} intersect all select 1)
select t.n, u.id, (select max(n) from t) as m, exists (select 1 from u where id = t.n) as e
from t cross join lateral (select id from u where id = t.n) u
