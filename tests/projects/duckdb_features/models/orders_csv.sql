{{ config(materialized='external', format='csv', delimiter='|') }}
select id, status from {{ ref('orders_export') }}
