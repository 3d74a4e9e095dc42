{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='day',
    batch_size='day',
    begin='2024-01-01',
    lookback=var('lookback', 1),
) }}
select cast(ts as date) as day, count(*) as events, sum(doubled) as doubled
from {{ ref('events_enriched') }}
group by 1
