with source as (

    select * from {{ source('shop', 'raw_orders') }}

),

renamed as (

    select
        id as order_id,
        customer_id,
        order_date,
        status
    from source
    where order_date >= date '{{ var("start_date") }}'

)

select * from renamed
