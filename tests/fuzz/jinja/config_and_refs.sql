{{ config(materialized='incremental', unique_key=['order_id'], tags=['x'], on_schema_change='append_new_columns') }}
select o.order_id, o.customer_id, {{ cents_to_dollars('p.amount') }} as amount
from {{ ref('stg_orders') }} o
join {{ ref('shop_analytics', 'stg_payments') }} p on p.order_id = o.order_id
{% if is_incremental() %}
where o.order_date > (select max(order_date) from {{ this }})
{% endif %}
