{{ config(materialized='table') }}
select 'card' as channel, method, count(*) as payments
from {{ ref('payments') }}
where method = 'card'
group by method
union all
select 'other' as channel, method, count(*) as payments
from {{ ref('payments') }}
where method <> 'card'
group by method
