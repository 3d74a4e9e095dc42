select 1 as customer_id, 'France' as country_name, 'a@example.com' as email
union all
select 2, 'Spain', 'b@example.com'
