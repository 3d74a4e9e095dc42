{{ config(unique_key='id', on_schema_change='fail') }}

select id, status, updated_at
from {{ ref('events') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
