{{ config(materialized='table') }}
select * from (values (1, 'Ann', 10.50), (2, 'Bob', 20.00), (3, 'Cy', 30.25)) as v(id, name, amount)
