{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='ts',
    batch_size='day',
    begin='2024-01-01',
    lookback=var('lookback', 1),
) }}
select
    id,
    ts,
    amount * 2 as doubled,
    '{{ model.batch.id }}' as batch_id,
    '{{ var("run_marker", "first") }}' as run_marker
from {{ ref('events') }}
{% if var('fail_batch', 'never') == model.batch.id %}
where no_such_column = 1
{% endif %}
