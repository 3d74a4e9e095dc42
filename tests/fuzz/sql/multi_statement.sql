select 1 as a;
select a.order_id, b."Quoted Col", "x""y" from {{ ref('stg_orders') }} as a(order_id) , (values (1, 2)) b("Quoted Col", "x""y")
