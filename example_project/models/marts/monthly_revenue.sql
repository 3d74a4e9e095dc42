{{ config(tags=['finance']) }}

with orders as (

    select * from {{ ref('orders') }}
    where status not in ('returned', 'return_pending')

),

monthly as (

    select
        date_trunc('month', order_date) as order_month,
        count(*) as number_of_orders,
        count(distinct customer_id) as number_of_customers,
        sum(amount) as revenue
    from orders
    group by 1

)

select
    order_month,
    number_of_orders,
    number_of_customers,
    revenue,
    sum(revenue) over (order by order_month rows between unbounded preceding and current row) as cumulative_revenue
from monthly
order by order_month
