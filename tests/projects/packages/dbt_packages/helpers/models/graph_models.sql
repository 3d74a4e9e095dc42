{{ config(post_hook="{{ insert_models_from_graph(this) }}") }}
-- Empty here; the post-hook fills it from the graph once the table exists.
select
    cast(null as varchar) as unique_id,
    cast(null as boolean) as enabled,
    cast(null as varchar) as on_schema_change,
    cast(null as varchar) as materialized
where 1 = 0
