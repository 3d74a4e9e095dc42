select sum(amount) as amount from {{ ref('orders_export') }} where status = 'open'
