{{ config(materialized='external', options={'partition_by': 'status'}) }}
select id, status, amount from {{ ref('orders_export') }}
