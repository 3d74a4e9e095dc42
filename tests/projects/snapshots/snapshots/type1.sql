{#- SCD Type 1 (a sluice extension): one row per key, overwritten in place. -#}
{% snapshot t1_ignore %}
{{ config(unique_key='id', strategy='type1') }}
select id, name, tier from {{ ref('src') }}
{% endsnapshot %}

{% snapshot t1_delete %}
{{ config(unique_key='id', strategy='type1', check_cols=['tier'], hard_deletes='delete') }}
select id, name, tier from {{ ref('src') }}
{% endsnapshot %}
