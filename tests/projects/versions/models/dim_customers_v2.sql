select 1 as customer_id, 'FR' as country_code
union all
select 2, 'ES'
