{{ config(
    materialized='table',
    pre_hook="insert into {{ target.schema }}.hook_log select count(*) + 1, 'before {{ this.identifier }}' from {{ target.schema }}.hook_log",
    post_hook=["insert into {{ target.schema }}.hook_log select count(*) + 1, 'built {{ this.identifier }}' from {{ target.schema }}.hook_log"],
) }}

with sized as (

    select * from {{ ref('eph_labelled') }}

)

select size, count(*) as events, sum(amount) as amount
from sized
group by size
