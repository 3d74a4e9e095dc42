{{ config(materialized='table') }}
with totals as (
    select customer_id, count(*) as orders, sum(amount) as amount
    from {{ ref('orders') }}
    group by customer_id
)
select
    c.id as customer_id,
    c.name,
    coalesce(t.orders, 0) as orders,
    coalesce(t.amount, 0) as amount
from {{ ref('customers') }} c
left join totals t on t.customer_id = c.id
