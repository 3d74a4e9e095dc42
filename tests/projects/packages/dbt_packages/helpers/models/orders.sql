{{ config(enabled=false) }}
-- Disabled: never collides with the root project's `orders`.
select 1 as id
