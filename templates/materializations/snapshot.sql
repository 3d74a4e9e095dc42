{#-
  Snapshots: SCD Type 2 (strategies `timestamp` and `check`, as dbt's) and
  SCD Type 1 (`type1`, a sluice extension). sluice's snapshot runner
  (src/materialize/snapshot.rs) calls these macros in order inside one
  transaction, then runs the invariant checks at the end of this file before
  committing. A project macro of the same name replaces any of them.

  Every macro takes `s`, the plan of one snapshot run:
    s.target        the snapshot table, rendered
    s.source_sql    the snapshot's compiled select
    s.key           the unique_key as an expression over the source columns
                    (a column, an expression, or row(a, b) for a list)
    s.updated_at    the `updated_at` expression (timestamp strategy), or none
    s.changed       the condition "source row `src` differs from current row
                    `cur`" for the strategy (null-safe); for timestamp, the
                    row's updated_at is later than the one the current
                    version recorded in dbt_updated_at
    s.columns       the source's columns, quoted, in order
    s.stage_as      `view` when the select is a plain read of one table,
                    else `table` (see snapshot_stage_source_sql)
    s.now           the run's snapshot time, as a typed SQL literal
    s.meta          quoted meta column names: scd_id, updated_at, valid_from,
                    valid_to, is_deleted (snapshot_meta_column_names)
    s.current       the condition "this row is current" (valid_to is null, or
                    equals dbt_valid_to_current)
    s.valid_to_current  the literal current rows carry in valid_to (`null` by default)
    s.hard_deletes  ignore | invalidate | new_record (type 2); ignore | delete (type 1)
    s.version_time  when a new version starts: the row's updated_at
                    (timestamp) or s.now (check)
    s.text_type     the engine's name for text in casts (`varchar`; `string` on Spark)
    s.staged        where a warehouse without transactions (Spark) builds the
                    new table before it replaces s.target (snapshot_rebuild_sql)
    s.target_columns  the snapshot table's columns, quoted, in table order
-#}

{#- `drop` + `create temp <kind> <name> as`, the start of a staging
    statement: a temporary table or view that lives as long as the session. -#}
{% macro snapshot_temp_relation_sql(kind, name) -%}
    {{ return(adapter.dispatch('snapshot_temp_relation_sql', 'dbt')(kind, name)) }}
{%- endmacro %}

{% macro default__snapshot_temp_relation_sql(kind, name) -%}
drop {{ kind }} if exists {{ name }};
create temp {{ kind }} {{ name }} as
{%- endmacro %}

{#- Staging: the source with its key and version time, read three times
    (duplicate check, changes, inserts). A plain select from one table is a
    view: reading the table again costs less than copying it (and its
    commit). Anything heavier (joins, grouping, windows) is computed once. -#}
{% macro snapshot_stage_source_sql(s) -%}
{{ snapshot_temp_relation_sql(s.stage_as, '__sluice_snap_src') }}
select *, {{ s.key }} as __sluice_key, {{ s.version_time }} as __sluice_time
from (
{{ s.source_sql }}
) __sluice_source
{%- endmacro %}

{#- ... and the current rows of the snapshot table (a view: copying them
    would cost more than reading them where they are). -#}
{% macro snapshot_stage_current_sql(s) -%}
create or replace temp view __sluice_snap_cur as
select *, {{ s.key }} as __sluice_key
from {{ s.target }}
where {{ s.current }}
{%- endmacro %}

{#- A source with two rows for one key would make two current versions,
    and a row whose key is NULL would match no current row and be inserted
    again on every run (dbt checks neither): list up to 10 such keys, as
    (key, rows) with key NULL for the rows without one. -#}
{% macro snapshot_duplicate_keys_sql(s) -%}
{#- Neighbours in key order (a sort is cheaper here than a hash aggregate). -#}
select cast(__sluice_key as {{ s.text_type }}) as key,
       count(*) + case when __sluice_key is null then 0 else 1 end as n
from (
    select __sluice_key, lead(__sluice_key) over (order by __sluice_key) as __sluice_next
    from __sluice_snap_src
) d
where __sluice_key = __sluice_next or __sluice_key is null
group by __sluice_key
order by 1 nulls first
limit 10
{%- endmacro %}

{#- What changes, one row per key: insert (a new key, or a key whose last
    version was closed), update (the current version changed),
    delete (the key left the source), resurrect (its current version is a
    deletion marker and the key is back). -#}
{% macro snapshot_changes_sql(s) -%}
{{ snapshot_temp_relation_sql('table', '__sluice_snap_changes') }}
select src.__sluice_key,
       case when cur.__sluice_key is null then 'insert'
            {%- if s.hard_deletes == 'new_record' %}
            when cur.{{ s.meta.is_deleted }} = 'True' then 'resurrect'
            {%- endif %}
            else 'update' end as __sluice_change,
       {#- When the new version starts (and the current one ends): the row's
           own time, unless that is not after the version it follows began
           or ended (a key back after a delete; an updated_at older than the
           last boundary); then the run's time. Versions never overlap or
           run backwards. -#}
       case
           when cur.__sluice_key is null
               then greatest(src.__sluice_time, coalesce(hist.__sluice_last_end, src.__sluice_time))
           {%- if s.hard_deletes == 'new_record' %}
           when cur.{{ s.meta.is_deleted }} = 'True' then greatest(src.__sluice_time, {{ s.now }})
           {%- endif %}
           when src.__sluice_time > cur.{{ s.meta.valid_from }} then src.__sluice_time
           else {{ s.now }}
       end as __sluice_time
from __sluice_snap_src src
left join __sluice_snap_cur cur on cur.__sluice_key = src.__sluice_key
left join (
    {#- Closed history (joined only to keys without a current row). -#}
    select {{ s.key }} as __sluice_key, max({{ s.meta.valid_to }}) as __sluice_last_end
    from {{ s.target }}
    where not ({{ s.current }})
    group by 1
) hist on cur.__sluice_key is null and hist.__sluice_key = src.__sluice_key
where cur.__sluice_key is null
   or ({{ s.changed }})
   {%- if s.hard_deletes == 'new_record' %}
   or cur.{{ s.meta.is_deleted }} = 'True'
   {%- endif %}
{%- if s.hard_deletes in ('invalidate', 'new_record') %}
union all
select cur.__sluice_key, 'delete', {{ s.now }}
from __sluice_snap_cur cur
where not exists (select 1 from __sluice_snap_src src where src.__sluice_key = cur.__sluice_key)
  {%- if s.hard_deletes == 'new_record' %}
  and cur.{{ s.meta.is_deleted }} is distinct from 'True'
  {%- endif %}
{%- endif %};
{%- endmacro %}

{#- Close the current version of every updated, deleted or resurrected key. -#}
{% macro snapshot_close_sql(s) -%}
update {{ s.target }}
set {{ s.meta.valid_to }} = ch.__sluice_time
from __sluice_snap_changes ch
where ch.__sluice_change in ('update', 'delete', 'resurrect')
  and ch.__sluice_key = {{ s.key }}
  and {{ s.current }};
{%- endmacro %}

{#- For a warehouse that cannot UPDATE in place (Spark on Parquet), instead
    of snapshot_close_sql: the snapshot's rows, with the current version of
    every updated, deleted or resurrected key closed, written to s.staged.
    The new versions are then inserted there and the invariants checked
    there, and only then does s.staged replace the snapshot table. -#}
{% macro snapshot_rebuild_sql(s) -%}
{%- set select_sql -%}
select
{%- for c in s.target_columns %}
    {% if c | lower == s.meta.valid_to | lower -%}
    case when ch.__sluice_key is not null then ch.__sluice_time else t.{{ c }} end as {{ c }}
    {%- else -%}
    t.{{ c }}
    {%- endif %}{{ "," if not loop.last }}
{%- endfor %}
from {{ s.target }} t
left join (
    select __sluice_key, __sluice_time
    from __sluice_snap_changes
    where __sluice_change in ('update', 'delete', 'resurrect')
) ch on ch.__sluice_key = {{ s.key }} and {{ s.current }}
{%- endset -%}
drop table if exists {{ s.staged }};
{{ create_table_as(false, s.staged, select_sql) }}
{%- endmacro %}

{#- New current versions: new keys, changed rows, keys that came back. -#}
{% macro snapshot_insert_sql(s) -%}
insert into {{ s.target }} ({{ s.columns | join(', ') }}, {{ s.meta.scd_id }}, {{ s.meta.updated_at }}, {{ s.meta.valid_from }}, {{ s.meta.valid_to }}
    {%- if s.hard_deletes == 'new_record' %}, {{ s.meta.is_deleted }}{% endif %})
select {% for c in s.columns %}src.{{ c }}, {% endfor %}
       md5(cast(src.__sluice_key as {{ s.text_type }}) || '|' || cast(ch.__sluice_time as {{ s.text_type }})),
       {#- updated_at keeps the row's own time; valid_from may be later (see changes). #}
       src.__sluice_time, ch.__sluice_time, {{ s.valid_to_current }}
       {%- if s.hard_deletes == 'new_record' %}, 'False'{% endif %}
from __sluice_snap_changes ch
join __sluice_snap_src src on src.__sluice_key = ch.__sluice_key
where ch.__sluice_change in ('insert', 'update', 'resurrect');
{%- endmacro %}

{#- hard_deletes: new_record adds a deletion marker as the key's current
    version (dbt's `dbt_is_deleted = 'True'` row), with the columns of the
    version this run closed: read from the table itself, where that version
    now ends at the change's time (the current-rows view no longer lists it). -#}
{% macro snapshot_deletion_markers_sql(s) -%}
insert into {{ s.target }} ({{ s.columns | join(', ') }}, {{ s.meta.scd_id }}, {{ s.meta.updated_at }}, {{ s.meta.valid_from }}, {{ s.meta.valid_to }}, {{ s.meta.is_deleted }})
select {% for c in s.columns %}closed.{{ c }}, {% endfor %}
       md5(cast(ch.__sluice_key as {{ s.text_type }}) || '|' || cast(ch.__sluice_time as {{ s.text_type }})),
       ch.__sluice_time, ch.__sluice_time, {{ s.valid_to_current }}, 'True'
from __sluice_snap_changes ch
join (
    select *, {{ s.key }} as __sluice_key from {{ s.target }}
) closed on closed.__sluice_key = ch.__sluice_key and closed.{{ s.meta.valid_to }} = ch.__sluice_time
where ch.__sluice_change = 'delete';
{%- endmacro %}

{#- The first run: every source row is a current version. -#}
{% macro snapshot_create_sql(s) -%}
create table {{ s.target }} as
select {% for c in s.columns %}{{ c }}, {% endfor %}
       md5(cast(__sluice_key as {{ s.text_type }}) || '|' || cast(__sluice_time as {{ s.text_type }})) as {{ s.meta.scd_id }},
       __sluice_time as {{ s.meta.updated_at }},
       __sluice_time as {{ s.meta.valid_from }},
       {{ s.valid_to_current }} as {{ s.meta.valid_to }}
       {%- if s.hard_deletes == 'new_record' %}, 'False' as {{ s.meta.is_deleted }}{% endif %}
from __sluice_snap_src;
{%- endmacro %}

{#- The invariants of the keys this run touched: at most one current row per
    key, valid_from < valid_to, versions that do not overlap. Returns up to
    10 (key, problem) rows; any row fails the run, which is rolled back. -#}
{% macro snapshot_invariants_sql(s) -%}
{#- In each key's versions ordered by valid_from, a version may only be
    followed by one that starts at or after its end: a current version
    (open-ended) followed by anything is a second current row or an
    overlap. One window (one sort), no per-key count. -#}
with versions as (
    select {{ s.key }} as __sluice_key,
           {{ s.meta.valid_from }} as vf,
           case when {{ s.current }} then null else {{ s.meta.valid_to }} end as vt
    from {{ s.target }}
    join __sluice_snap_changes ch on ch.__sluice_key = {{ s.key }}
),
{#- One sort of all touched versions (key, then time) instead of a window
    per key: a partitioned window costs more here. -#}
ordered as (
    select *, lead(__sluice_key) over w as next_key, lead(vf) over w as next_vf,
           lead(vt is null) over w as next_current
    from versions
    window w as (order by __sluice_key, vf, vt nulls last)
)
select cast(__sluice_key as {{ s.text_type }}) as key,
       case when vt is not null and vt <= vf then 'dbt_valid_from is not before dbt_valid_to'
            when vt is null and next_current then 'more than one current row'
            else 'versions overlap'
       end as problem
from ordered
where (vt is not null and vt <= vf)
   or (next_key = __sluice_key and (vt is null or vt > next_vf))
order by 1
limit 10
{%- endmacro %}

{#- SCD Type 1 (sluice): one row per key, overwritten in place. -#}
{% macro snapshot_type1_create_sql(s) -%}
create table {{ s.target }} as
select {% for c in s.columns %}{{ c }}, {% endfor %}__sluice_time as {{ s.meta.updated_at }}
from __sluice_snap_src;
{%- endmacro %}

{% macro snapshot_type1_changes_sql(s) -%}
{{ snapshot_temp_relation_sql('table', '__sluice_snap_changes') }}
select src.__sluice_key,
       case when cur.__sluice_key is null then 'insert' else 'update' end as __sluice_change,
       {{ s.now }} as __sluice_time
from __sluice_snap_src src
left join __sluice_snap_cur cur on cur.__sluice_key = src.__sluice_key
where cur.__sluice_key is null or ({{ s.changed }})
{%- if s.hard_deletes == 'delete' %}
union all
select cur.__sluice_key, 'delete', {{ s.now }}
from __sluice_snap_cur cur
where not exists (select 1 from __sluice_snap_src src where src.__sluice_key = cur.__sluice_key)
{%- endif %};
{%- endmacro %}

{% macro snapshot_type1_apply_sql(s) -%}
delete from {{ s.target }}
where {{ s.key }} in (select __sluice_key from __sluice_snap_changes where __sluice_change in ('update', 'delete'));
insert into {{ s.target }} ({{ s.columns | join(', ') }}, {{ s.meta.updated_at }})
select {% for c in s.columns %}src.{{ c }}, {% endfor %}{{ s.type1_time }}
from __sluice_snap_changes ch
join __sluice_snap_src src on src.__sluice_key = ch.__sluice_key
where ch.__sluice_change in ('insert', 'update');
{%- endmacro %}

{#- Type 1 invariant: one row per key. -#}
{% macro snapshot_type1_invariants_sql(s) -%}
select cast({{ s.key }} as {{ s.text_type }}) as key, 'more than one row' as problem
from {{ s.target }}
group by {{ s.key }}
having count(*) > 1
order by 1
limit 10
{%- endmacro %}
