select * from (pivot {{ ref('stg_payments') }} on payment_method using sum(amount) group by order_id)
union all by name
select order_id, unnest([1, 2]) as coupon_amount, * from {{ ref('stg_payments') }} positional join (select 1 as k) z
