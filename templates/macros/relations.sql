{#- DDL helpers the materializations use, as dbt's adapter macros. -#}

{% macro create_schema(relation) -%}
    {{ return(adapter.dispatch('create_schema', 'dbt')(relation)) }}
{%- endmacro %}

{% macro default__create_schema(relation) -%}
create schema if not exists {{ relation.without_identifier() }}
{%- endmacro %}

{% macro drop_relation(relation, relation_type) -%}
    {{ return(adapter.dispatch('drop_relation', 'dbt')(relation, relation_type)) }}
{%- endmacro %}

{% macro default__drop_relation(relation, relation_type) -%}
drop {{ relation_type }} if exists {{ relation }}
{%- endmacro %}

{% macro rename_relation(from_relation, to_identifier, relation_type) -%}
    {{ return(adapter.dispatch('rename_relation', 'dbt')(from_relation, to_identifier, relation_type)) }}
{%- endmacro %}

{% macro default__rename_relation(from_relation, to_identifier, relation_type) -%}
alter {{ relation_type }} {{ from_relation }} rename to {{ adapter.quote(to_identifier) }}
{%- endmacro %}
