-- A model reading a snapshot: build runs the snapshot first.
select id, tier from {{ ref('ts_ignore') }} where dbt_valid_to is null
