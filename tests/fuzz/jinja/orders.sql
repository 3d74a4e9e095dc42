{%- set payment_methods = var('payment_methods') -%}

with orders as (

    select * from {{ ref('stg_orders') }}

),

payments as (

    select * from {{ ref('stg_payments') }}

),

order_payments as (

    select
        order_id,
        {% for method in payment_methods -%}
        sum(case when payment_method = '{{ method }}' then amount else 0 end) as {{ method }}_amount,
        {% endfor -%}
        sum(amount) as total_amount
    from payments
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        orders.status,
        {% for method in payment_methods -%}
        coalesce(order_payments.{{ method }}_amount, 0) as {{ method }}_amount,
        {% endfor -%}
        coalesce(order_payments.total_amount, 0) as amount,
        row_number() over (
            partition by orders.customer_id
            order by orders.order_date, orders.order_id
        ) as customer_order_number
    from orders
    left join order_payments
        on orders.order_id = order_payments.order_id

)

select * from final
