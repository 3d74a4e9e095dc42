with o as (select * from {{ ref('stg_orders') }}), c as (select * from {{ ref('stg_customers') }})
select o.order_id, upper(c.first_name) as first_name, c.*, count(*) over (partition by o.customer_id order by o.order_date rows between unbounded preceding and current row) as n,
  case when o.status in ('placed', 'shipped') then 1 else 0 end as open_flag
from o left join c using (customer_id)
qualify row_number() over (partition by c.customer_id order by o.order_date desc) = 1
