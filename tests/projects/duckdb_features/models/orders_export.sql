{{ config(materialized='external', location='out/orders.parquet') }}
select * from (values (1, 'open', 10.5), (2, 'shipped', 20.0), (3, 'open', 7.25)) t(id, status, amount)
