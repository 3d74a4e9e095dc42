{#- SCD Type 2, timestamp strategy, one snapshot per hard_deletes mode. -#}
{% snapshot ts_ignore %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select * from {{ ref('src') }}
{% endsnapshot %}

{% snapshot ts_invalidate %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate') }}
select * from {{ ref('src') }}
{% endsnapshot %}

{% snapshot ts_new_record %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record') }}
select * from {{ ref('src') }}
{% endsnapshot %}

{#- A composite key: the same id lives in two regions. The CTE makes the
    select more than a plain read, so it is staged as a table, not a view. -#}
{% snapshot ts_composite %}
{{ config(unique_key=['id', 'region'], strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate') }}
with regions as (select * from {{ ref('src_regions') }})
select * from regions
{% endsnapshot %}
