{{ config(materialized='table') }}
select
    o.id as order_id,
    o.amount,
    p.method
from {{ ref('orders') }} o
join {{ ref('payments') }} p on p.order_id = o.id
