-- Ad-hoc: the ten customers with the highest lifetime value.
select customer_id, full_name, lifetime_value
from {{ ref('customers') }}
order by lifetime_value desc
limit 10
