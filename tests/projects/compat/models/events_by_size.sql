{{ config(materialized='table') }}

with sized as (

    select * from {{ ref('eph_labelled') }}

)

select size, count(*) as events, sum(amount) as amount
from sized
group by size
