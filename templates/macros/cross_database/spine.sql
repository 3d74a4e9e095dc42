{#- Number series and date spines of dbt's cross-database macros, rendering
    the SQL dbt-core's global project plus dbt-duckdb's overrides render on
    DuckDB. -#}

{#- The smallest n with 2^n >= upper_bound (1 for 1 and 2): how many
    doublings the generic generate_series needs. A number known when
    compiling, not SQL. -#}
{% macro get_powers_of_two(upper_bound) %}
    {{ return(adapter.dispatch('get_powers_of_two', 'dbt')(upper_bound)) }}
{% endmacro %}

{#- In dbt `return()` ends the macro; `break` does the same here, where a
    later `return()` would replace the first. -#}
{% macro default__get_powers_of_two(upper_bound) %}

    {% if upper_bound <= 0 %}
    {{ exceptions.raise_compiler_error("upper bound must be positive") }}
    {% endif %}

    {% for _ in range(1, 100) %}
       {% if upper_bound <= 2 ** loop.index %}{{ return(loop.index) }}{% break %}{% endif %}
    {% endfor %}

{% endmacro %}


{#- A query of one column, `generated_number`, holding 1 to `upper_bound`
    (a number, or SQL for one on DuckDB). -#}
{% macro generate_series(upper_bound) %}
    {{ return(adapter.dispatch('generate_series', 'dbt')(upper_bound)) }}
{% endmacro %}

{#- The generic form: a cross join of n two-row tables, numbered in binary. -#}
{% macro default__generate_series(upper_bound) %}

    {% set n = dbt.get_powers_of_two(upper_bound) %}

    with p as (
        select 0 as generated_number union all select 1
    ), unioned as (

    select

    {% for i in range(n) %}
    p{{i}}.generated_number * power(2, {{i}})
    {% if not loop.last %} + {% endif %}
    {% endfor %}
    + 1
    as generated_number

    from

    {% for i in range(n) %}
    p as p{{i}}
    {% if not loop.last %} cross join {% endif %}
    {% endfor %}

    )

    select *
    from unioned
    where generated_number <= {{upper_bound}}
    order by generated_number

{% endmacro %}

{#- DuckDB, as dbt-duckdb: its generate_series table function (inclusive). -#}
{% macro duckdb__generate_series(upper_bound) %}
    select
        generate_series as generated_number
    from generate_series(1, {{ upper_bound }})
{% endmacro %}


{#- How many `datepart` periods lie between two dates (SQL text): a number
    the warehouse computes with datediff while compiling, so a model calling
    it compiles again right before it runs. 1 while parsing, when nothing
    runs, or when the query returns no row. -#}
{% macro get_intervals_between(start_date, end_date, datepart) -%}
    {{ return(adapter.dispatch('get_intervals_between', 'dbt')(start_date, end_date, datepart)) }}
{%- endmacro %}

{% macro default__get_intervals_between(start_date, end_date, datepart) -%}
    {%- call statement('get_intervals_between', fetch_result=True) %}

        select {{ dbt.datediff(start_date, end_date, datepart) }}

    {%- endcall -%}

    {%- set value_list = load_result('get_intervals_between') -%}

    {%- if value_list and value_list['data'] -%}
        {%- set values = value_list['data'] | map(attribute=0) | list %}
        {{ return(values[0]) }}
    {%- else -%}
        {{ return(1) }}
    {%- endif -%}

{%- endmacro %}


{#- A query of one column, `date_<datepart>`: `start_date` plus 0, 1, 2...
    periods, one row per period before `end_date` (excluded). Both dates are
    SQL text, such as "cast('2024-01-01' as date)". -#}
{% macro date_spine(datepart, start_date, end_date) %}
    {{ return(adapter.dispatch('date_spine', 'dbt')(datepart, start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(datepart, start_date, end_date) %}


    {# A series as long as the number of periods, each row turned into the
       start date plus its row number of periods, cut at the end date. #}


    with rawdata as (

        {{dbt.generate_series(
            dbt.get_intervals_between(start_date, end_date, datepart)
        )}}

    ),

    all_periods as (

        select (
            {{
                dbt.dateadd(
                    datepart,
                    "row_number() over (order by 1) - 1",
                    start_date
                )
            }}
        ) as date_{{datepart}}
        from rawdata

    ),

    filtered as (

        select *
        from all_periods
        where date_{{datepart}} <= {{ end_date }}

    )

    select * from filtered

{% endmacro %}
