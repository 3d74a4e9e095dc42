{#-
  The `incremental` materialization's SQL, as dbt's incremental strategies.
  sluice builds the new rows into `temp_relation`, reconciles the schema
  (`on_schema_change`), then applies one of these inside the same
  transaction, so a failure leaves the table as it was.
  `dest_columns` are the (already quoted) columns both relations share.
-#}

{#- `append`: insert every new row. -#}
{% macro get_incremental_append_sql(target_relation, temp_relation, dest_columns) -%}
insert into {{ target_relation }} ({{ dest_columns | join(', ') }})
select {{ dest_columns | join(', ') }} from {{ temp_relation }}
{%- endmacro %}

{#- `delete+insert`: delete the target rows whose key is among the new rows, then insert. -#}
{% macro get_delete_insert_merge_sql(target_relation, temp_relation, unique_key, dest_columns) -%}
delete from {{ target_relation }} as DBT_INTERNAL_DEST
where exists (
    select 1 from {{ temp_relation }} as DBT_INTERNAL_SOURCE
    where {% for key in unique_key -%}
    DBT_INTERNAL_SOURCE.{{ key }} = DBT_INTERNAL_DEST.{{ key }}{% if not loop.last %} and {% endif %}
    {%- endfor %}
);
insert into {{ target_relation }} ({{ dest_columns | join(', ') }})
select {{ dest_columns | join(', ') }} from {{ temp_relation }}
{%- endmacro %}

{#- `merge`: update matching keys in place, insert the others (DuckDB's MERGE INTO). -#}
{% macro get_merge_sql(target_relation, temp_relation, unique_key, dest_columns) -%}
merge into {{ target_relation }} as DBT_INTERNAL_DEST
using {{ temp_relation }} as DBT_INTERNAL_SOURCE
on {% for key in unique_key -%}
    DBT_INTERNAL_SOURCE.{{ key }} = DBT_INTERNAL_DEST.{{ key }}{% if not loop.last %} and {% endif %}
{%- endfor %}
when matched then update set
    {% for col in dest_columns -%}
    {{ col }} = DBT_INTERNAL_SOURCE.{{ col }}{% if not loop.last %}, {% endif %}
    {%- endfor %}
when not matched then insert ({{ dest_columns | join(', ') }})
values ({% for col in dest_columns %}DBT_INTERNAL_SOURCE.{{ col }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- `insert_overwrite` (Spark, as dbt-spark's): the new rows replace the
    table's rows (only the partitions they write, for a partitioned table). -#}
{% macro get_insert_overwrite_sql(target_relation, temp_relation, dest_columns) -%}
insert overwrite table {{ target_relation }} ({{ dest_columns | join(', ') }})
select {{ dest_columns | join(', ') }} from {{ temp_relation }}
{%- endmacro %}
