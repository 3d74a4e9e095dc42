{{ config(materialized='external', format='json') }}
select id, status from {{ ref('orders_export') }} where false
