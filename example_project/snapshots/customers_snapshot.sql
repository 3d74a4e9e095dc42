{#- SCD Type 2 history of each customer's contact details: a new version
    whenever the email or country changes; a customer who disappears from
    the source gets their current row closed. -#}
{% snapshot customers_snapshot %}
{{ config(
    target_schema='snapshots',
    unique_key='customer_id',
    strategy='check',
    check_cols=['email', 'country'],
    hard_deletes='invalidate',
) }}
select customer_id, first_name, last_name, email, country from {{ ref('stg_customers') }}
{% endsnapshot %}
