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

{#- `microbatch` (dbt 1.9): the batch's rows replace the table's rows whose
    `event_time` falls in the batch, `[batch_start, batch_end)`; the bounds
    come as SQL timestamps. -#}
{% macro get_incremental_microbatch_sql(target_relation, temp_relation, event_time, batch_start, batch_end, dest_columns) -%}
delete from {{ target_relation }}
where {{ event_time }} >= {{ batch_start }} and {{ event_time }} < {{ batch_end }};
insert into {{ target_relation }} ({{ dest_columns | join(', ') }})
select {{ dest_columns | join(', ') }} from {{ temp_relation }}
{%- endmacro %}

{#- `insert_overwrite` (Spark, as dbt-spark's): the new rows replace the
    table's rows (only the partitions they write, for a partitioned table). -#}
{% macro get_insert_overwrite_sql(target_relation, temp_relation, dest_columns) -%}
insert overwrite table {{ target_relation }} ({{ dest_columns | join(', ') }})
select {{ dest_columns | join(', ') }} from {{ temp_relation }}
{%- endmacro %}

{#- `delete+insert` and `merge` where rows cannot be deleted or updated in
    place (Spark's Parquet tables): the table's next state as one query, which
    sluice writes to an intermediate table and swaps in. The table's rows
    whose key is not among the new rows are kept; each new row is cast to
    the table's column types, as an insert casts. A table column the new rows
    lack is NULL under delete+insert and keeps its value under merge (which
    updates only the shared columns). `columns` are [quoted name, type,
    whether the new rows have it], in table order. For `microbatch`,
    `window` is the batch's condition on `event_time`: the rows it holds
    are replaced instead of those whose key matches. -#}
{% macro get_incremental_rebuild_sql(strategy, target_relation, temp_relation, unique_key, columns, window=none) -%}
{%- set key_match -%}
{% for key in unique_key -%}
DBT_INTERNAL_SOURCE.{{ key }} = DBT_INTERNAL_DEST.{{ key }}{% if not loop.last %} and {% endif %}
{%- endfor %}
{%- endset -%}
select {% for c in columns %}DBT_INTERNAL_DEST.{{ c[0] }}{% if not loop.last %}, {% endif %}{% endfor %}
from {{ target_relation }} as DBT_INTERNAL_DEST
{%- if window %}
where not coalesce({{ window }}, false)
{%- else %}
where not exists (
    select 1 from {{ temp_relation }} as DBT_INTERNAL_SOURCE
    where {{ key_match }}
)
{%- endif %}
union all
select {% for c in columns -%}
{%- if c[2] -%}
cast(DBT_INTERNAL_SOURCE.{{ c[0] }} as {{ c[1] }})
{%- elif strategy == 'merge' -%}
DBT_INTERNAL_DEST.{{ c[0] }}
{%- else -%}
cast(null as {{ c[1] }})
{%- endif %} as {{ c[0] }}{% if not loop.last %}, {% endif %}
{%- endfor %}
from {{ temp_relation }} as DBT_INTERNAL_SOURCE
{%- if strategy == 'merge' %}
left join {{ target_relation }} as DBT_INTERNAL_DEST
    on {{ key_match }}
{%- endif %}
{%- endmacro %}
