{#-
  PostgreSQL's versions of the DDL the materializations run, where its SQL
  differs from the default (as dbt-postgres's adapter macros). The swap
  itself is the same: PostgreSQL's DDL is transactional, so create,
  drop and rename run in one transaction and a failure leaves the previous
  relation as it was.
-#}

{#- PostgreSQL names a schema without its database. -#}
{% macro postgres__create_schema(relation) -%}
create schema if not exists {{ adapter.quote(relation.schema) }}
{%- endmacro %}

{#- `cascade`, as dbt-postgres: a view that selects from the replaced
    relation is dropped with it (PostgreSQL refuses the drop otherwise); a
    build that selects the view rebuilds it right after. -#}
{% macro postgres__drop_relation(relation, relation_type) -%}
drop {{ relation_type }} if exists {{ relation }} cascade
{%- endmacro %}
