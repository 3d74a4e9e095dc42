{% snapshot fuzz_snapshot %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='order_date') }}
select id, order_date, status from {{ source('shop', 'raw_orders') }}
{% endsnapshot %}
