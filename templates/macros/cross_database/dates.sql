{#- Date arithmetic of dbt's cross-database macros (dateadd, datediff,
    date_trunc, last_day, date), rendering the SQL dbt-core's global project
    plus dbt-duckdb's overrides render on DuckDB.

    Each public macro hands its arguments to `adapter.dispatch(name, 'dbt')`,
    so a project (or a package named in `dispatch:`) can replace the DuckDB or
    default implementation without replacing the macro packages call.
    Arguments are SQL text: `dateadd('day', 1, "order_date")`. -#}

{% macro dateadd(datepart, interval, from_date_or_timestamp) %}
  {{ return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) }}
{% endmacro %}

{#- The generic form, for warehouses with a `dateadd(part, n, date)` function. -#}
{% macro default__dateadd(datepart, interval, from_date_or_timestamp) %}

    dateadd(
        {{ datepart }},
        {{ interval }},
        {{ from_date_or_timestamp }}
        )

{% endmacro %}

{#- DuckDB, as dbt-duckdb: the date plus the interval count times a one-unit
    interval, so the count may be any expression (a column too). DuckDB has no
    quarter or week interval arithmetic dbt-duckdb relies on, so a quarter is
    three months and a week seven days. The result of adding to a date is a
    timestamp, as in dbt-duckdb. -#}
{% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) %}

    {# the count is cast to bigint: `interval` may be text such as '-1' #}

    {%- set unit = datepart | lower -%}
    {%- if unit == 'quarter' -%}
        ({{ from_date_or_timestamp }} + (cast({{ interval }} as bigint) * 3) * interval 1 month)
    {%- elif unit == 'week' -%}
        ({{ from_date_or_timestamp }} + (cast({{ interval }} as bigint) * 7) * interval 1 day)
    {%- else -%}
        ({{ from_date_or_timestamp }} + cast({{ interval }} as bigint) * interval 1 {{ unit }})
    {%- endif -%}

{% endmacro %}


{% macro datediff(first_date, second_date, datepart) %}
  {{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}
{% endmacro %}

{% macro default__datediff(first_date, second_date, datepart) -%}

    datediff(
        {{ datepart }},
        {{ first_date }},
        {{ second_date }}
        )

{%- endmacro %}

{#- DuckDB, as dbt-duckdb: `date_diff` counts crossed boundaries of the part
    between the two values as timestamps. Weeks are whole days divided by 7,
    corrected by one when the weekday of the second date comes before (or
    after, going backwards) that of the first, so the count matches
    warehouses that count Sunday-started week boundaries. -#}
{% macro duckdb__datediff(first_date, second_date, datepart) -%}
    {% if datepart == 'week' %}
            ({{ datediff(first_date, second_date, 'day') }} // 7 + case
            when date_part('dow', ({{first_date}})::timestamp) <= date_part('dow', ({{second_date}})::timestamp) then
                case when {{first_date}} <= {{second_date}} then 0 else -1 end
            else
                case when {{first_date}} <= {{second_date}} then 1 else 0 end
        end)
    {% else %}
        (date_diff('{{ datepart }}', {{ first_date }}::timestamp, {{ second_date}}::timestamp ))
    {% endif %}
{%- endmacro %}


{% macro date_trunc(datepart, date) -%}
  {{ return(adapter.dispatch('date_trunc', 'dbt') (datepart, date)) }}
{%- endmacro %}

{#- DuckDB's date_trunc takes the part as a string, as Postgres's. -#}
{% macro default__date_trunc(datepart, date) -%}
    date_trunc('{{datepart}}', {{date}})
{%- endmacro %}


{#- The last day of the `datepart` period (month, quarter, year...) holding
    `date`, as a date. -#}
{% macro last_day(date, datepart) %}
  {{ return(adapter.dispatch('last_day', 'dbt') (date, datepart)) }}
{% endmacro %}

{#- The start of the next period, less one day. Called by name (not through
    dispatch) by adapters that only change some parts, as dbt-duckdb does. -#}
{%- macro default_last_day(date, datepart) -%}
    cast(
        {{dbt.dateadd('day', '-1',
        dbt.dateadd(datepart, '1', dbt.date_trunc(datepart, date))
        )}}
        as date)
{%- endmacro -%}

{% macro default__last_day(date, datepart) -%}
    {{dbt.default_last_day(date, datepart)}}
{%- endmacro %}

{#- DuckDB, as dbt-duckdb: a quarter is three months (dbt-duckdb writes this
    out rather than relying on its dateadd's quarter branch, SQL comment
    included); every other part is the default. -#}
{% macro duckdb__last_day(date, datepart) -%}

    {%- if datepart == 'quarter' -%}
    -- duckdb dateadd does not support quarter interval.
    cast(
        {{dbt.dateadd('day', '-1',
        dbt.dateadd('month', '3', dbt.date_trunc(datepart, date))
        )}}
        as date)
    {%- else -%}
    {{dbt.default_last_day(date, datepart)}}
    {%- endif -%}

{%- endmacro %}


{#- dbt 1.8's `date(year, month, day)`: a date from three numbers known when
    compiling. -#}
{% macro date(year, month, day) %}
  {{ return(adapter.dispatch('date', 'dbt') (year, month, day)) }}
{% endmacro %}

{#- The generic form checks the date while compiling (Python's datetime.date
    rejects 2023-02-30) and writes it as an ISO literal. -#}
{% macro default__date(year, month, day) -%}
    {%- set dt = modules.datetime.date(year, month, day) -%}
    {%- set iso_8601_formatted_date = dt.strftime('%Y-%m-%d') -%}
    to_date('{{ iso_8601_formatted_date }}', 'YYYY-MM-DD')
{%- endmacro %}

{#- DuckDB, as dbt-duckdb: make_date, which also takes SQL expressions. -#}
{% macro duckdb__date(year, month, day) -%}
    make_date({{ year }}, {{ month }}, {{ day }})
{%- endmacro %}
