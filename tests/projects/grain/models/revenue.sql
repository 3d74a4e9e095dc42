{{ config(materialized='table') }}
select sum(amount) as revenue from {{ ref('order_payments') }}
