{#-
  Source freshness, as dbt's `collect_freshness`: the query whose one row
  is the newest `loaded_at_field` of the source (`max_loaded_at`) and the
  warehouse's clock (`snapshotted_at`), with the freshness `filter` applied.
  sluice runs the SQL this returns (dbt's macro runs it itself); a project
  or package may override it per adapter (`<adapter>__collect_freshness`).
-#}
{% macro collect_freshness(source, loaded_at_field, filter) -%}
    {{ return(adapter.dispatch('collect_freshness', 'dbt')(source, loaded_at_field, filter)) }}
{%- endmacro %}

{% macro default__collect_freshness(source, loaded_at_field, filter) -%}
select
    max({{ loaded_at_field }}) as max_loaded_at,
    {{ current_timestamp() }} as snapshotted_at
from {{ source }}
{% if filter -%}
where {{ filter }}
{%- endif %}
{%- endmacro %}
