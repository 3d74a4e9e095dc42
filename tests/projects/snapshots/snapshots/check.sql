{#- SCD Type 2, check strategy: a subset of columns, and all of them. -#}
{% snapshot check_tier %}
{{ config(unique_key='id', strategy='check', check_cols=['tier'], hard_deletes='invalidate') }}
select id, name, tier from {{ ref('src') }}
{% endsnapshot %}

{% snapshot check_all %}
{{ config(unique_key='id', strategy='check', check_cols='all', hard_deletes='new_record') }}
select id, name, tier from {{ ref('src') }}
{% endsnapshot %}
