{#-
  Apache Spark's versions of the SQL the materializations run, where Spark
  differs from the default (as dbt-spark's adapter macros). Spark has no
  multi-statement transactions, so sluice orders each materialization to
  build the new relation under an intermediate name first and publish it
  last (drop the old, rename the new): a model whose SQL fails leaves the
  previous relation as it was (docs/decisions/spark-connect.md).
  Identifiers are quoted with `"`: sluice's Spark sessions turn on
  `spark.sql.ansi.doubleQuotedIdentifiers`.
-#}

{#- Tables are Parquet data source tables, as dbt-spark's default
    `file_format`; Spark 3's default would be a Hive text table. -#}
{% macro spark__create_table_as(temporary, relation, compiled_code) -%}
{%- if temporary -%}
create or replace temporary view {{ adapter.quote(relation.identifier) }} as
{{ compiled_code }}
{%- else -%}
create table {{ relation }}
using parquet
as
{{ compiled_code }}
{%- endif -%}
{%- endmacro %}

{#- Spark's RENAME TO takes the schema-qualified new name. -#}
{% macro spark__rename_relation(from_relation, to_identifier, relation_type) -%}
alter {{ relation_type }} {{ from_relation }} rename to {{ adapter.quote(from_relation.schema) }}.{{ adapter.quote(to_identifier) }}
{%- endmacro %}

{#- Spark has no temporary tables: a staged table is a cached temporary
    view (`cache table ... as`, computed once, eagerly), a staged view a
    temporary view. -#}
{% macro spark__snapshot_temp_relation_sql(kind, name) -%}
drop {{ kind }} if exists {{ name }};
{% if kind == 'table' -%}
cache table {{ name }} as
{%- else -%}
create or replace temporary view {{ name }} as
{%- endif -%}
{%- endmacro %}

{#- Cross-database types: Spark's names (dbt-spark's). -#}
{% macro spark__type_string() %}{{ return("string") }}{% endmacro %}
{% macro spark__type_timestamp() %}{{ return("timestamp") }}{% endmacro %}
{% macro spark__type_float() %}{{ return("double") }}{% endmacro %}
{% macro spark__type_numeric() %}{{ return("decimal(28,6)") }}{% endmacro %}
{% macro spark__type_bigint() %}{{ return("bigint") }}{% endmacro %}
{%- macro spark__type_int() -%}{{ return("int") }}{%- endmacro -%}
{%- macro spark__type_boolean() -%}{{ return("boolean") }}{%- endmacro -%}
