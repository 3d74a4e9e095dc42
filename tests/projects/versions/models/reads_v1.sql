select customer_id, country_name from {{ ref('dim_customers', v=1) }}
