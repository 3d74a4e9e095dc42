select customer_id, country_code from {{ ref('dim_customers') }}
