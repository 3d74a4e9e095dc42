{{ config(materialized='table') }}
select order_id, id as payment_id, method
from {{ ref('payments') }}
qualify row_number() over (partition by order_id order by id desc) = 1
