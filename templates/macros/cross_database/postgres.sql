{#- PostgreSQL's implementations of dbt's cross-database macros: the SQL
    dbt-postgres renders where it differs from dbt-core's global project.
    Every other macro (bool_or, the array_* macros, concat, hash, the type_*
    names, cast, safe_cast, cast_bool_to_text, date, date_trunc,
    generate_series, date_spine...) renders its `default__` form on Postgres,
    as in dbt-postgres, which overrides none of them.

    A target of `type: postgres` dispatches to `postgres__<name>` first, then
    `default__<name>`. Arguments are SQL text, as in the other files. -#}


{#- Aggregates ---------------------------------------------------------- -#}

{#- As dbt-postgres: string_agg with the order by inside the call; with a
    limit, the first `limit_num` values of the ordered array_agg (a 1-based
    slice) joined by array_to_string. -#}
{% macro postgres__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- set ordered = ' ' ~ order_by_clause if order_by_clause else '' -%}
    {%- if limit_num -%}
    array_to_string(
        (array_agg({{ measure }}{{ ordered }}))[1:{{ limit_num }}],
        {{ delimiter_text }}
        )
    {%- else -%}
    string_agg(
        {{ measure }},
        {{ delimiter_text }}{{ ordered }}
        )
    {%- endif -%}
{%- endmacro %}

{#- As dbt-postgres: min(), since Postgres before 16 has no any_value. -#}
{% macro postgres__any_value(expression) -%}
    min({{ expression }})
{%- endmacro %}


{#- Comparisons --------------------------------------------------------- -#}

{#- As dbt-postgres: with the behavior flag `enable_truthy_nulls_equals_macro`
    on, `is not distinct from` (two nulls are equal); off, plain `=`.
    sluice's adapter has no behavior flags yet, so the flag reads as off. -#}
{% macro postgres__equals(expr1, expr2) -%}
{%- if adapter.behavior is defined and adapter.behavior.enable_truthy_nulls_equals_macro.no_warn -%}
    ({{ expr1 }} IS NOT DISTINCT FROM {{ expr2 }})
{%- else -%}
    ({{ expr1 }} = {{ expr2 }})
{%- endif -%}
{%- endmacro %}


{#- Dates --------------------------------------------------------------- -#}

{#- As dbt-postgres: the value plus a one-unit interval times the count, so
    the count may be any expression (a column too) and a date becomes a
    timestamp; month ends clamp. Postgres reads no `quarter` unit in an
    interval, where dbt-postgres's SQL fails; sluice adds three months per
    quarter instead, as dbt-postgres's own last_day does. -#}
{% macro postgres__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- if datepart | lower == 'quarter' -%}
    {{ from_date_or_timestamp }} + ((interval '3 month') * ({{ interval }}))
    {%- else -%}
    {{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
    {%- endif -%}
{%- endmacro %}

{#- As dbt-postgres: boundaries of the part crossed between the two values.
    Days subtract the dates (an integer); years subtract date_part('year');
    quarters and months add their date_part difference to the years times 4
    or 12; hours, minutes and seconds (whole, also milli- and microseconds)
    add theirs to the next coarser part's count, as timestamps. date_part
    gives a double precision, so every count but days and weeks is one. A
    week is the whole days divided by 7 (truncated), corrected by one when a
    Sunday-started week boundary lies between. -#}
{% macro postgres__datediff(first_date, second_date, datepart) -%}
    {%- set per_year = {'quarter': 4, 'month': 12} -%}
    {%- set per_coarser = {'hour': ('day', 24), 'minute': ('hour', 60)} -%}
    {%- set per_minute = {'second': 60, 'millisecond': 60000, 'microsecond': 60000000} -%}
    {%- if datepart == 'day' -%}
        (({{ second_date }})::date - ({{ first_date }})::date)
    {%- elif datepart == 'year' -%}
        (date_part('year', ({{ second_date }})::date) - date_part('year', ({{ first_date }})::date))
    {%- elif datepart in per_year -%}
        ({{ dbt.datediff(first_date, second_date, 'year') }} * {{ per_year[datepart] }} + date_part('{{ datepart }}', ({{ second_date }})::date) - date_part('{{ datepart }}', ({{ first_date }})::date))
    {%- elif datepart == 'week' -%}
        ({{ dbt.datediff(first_date, second_date, 'day') }} / 7 + case
            when date_part('dow', ({{ first_date }})::timestamp) <= date_part('dow', ({{ second_date }})::timestamp) then
                case when {{ first_date }} <= {{ second_date }} then 0 else -1 end
            else
                case when {{ first_date }} <= {{ second_date }} then 1 else 0 end
        end)
    {%- elif datepart in per_coarser -%}
        ({{ dbt.datediff(first_date, second_date, per_coarser[datepart][0]) }} * {{ per_coarser[datepart][1] }} + date_part('{{ datepart }}', ({{ second_date }})::timestamp) - date_part('{{ datepart }}', ({{ first_date }})::timestamp))
    {%- elif datepart in per_minute -%}
        ({{ dbt.datediff(first_date, second_date, 'minute') }} * {{ per_minute[datepart] }} + floor(date_part('{{ datepart }}', ({{ second_date }})::timestamp)) - floor(date_part('{{ datepart }}', ({{ first_date }})::timestamp)))
    {%- else -%}
        {{ exceptions.raise_compiler_error("Unsupported datepart for macro datediff in postgres: '" ~ datepart ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- As dbt-postgres: a quarter's last day is three months on from the
    quarter's start, less a day (its dateadd has no quarter); every other
    part is dbt's default_last_day. -#}
{% macro postgres__last_day(date, datepart) -%}
    {%- if datepart == 'quarter' -%}
    cast(
        {{ dbt.dateadd('day', '-1', dbt.dateadd('month', '3', dbt.date_trunc(datepart, date))) }}
        as date)
    {%- else -%}
    {{ dbt.default_last_day(date, datepart) }}
    {%- endif -%}
{%- endmacro %}


{#- Strings ------------------------------------------------------------- -#}

{#- As dbt-postgres: split_part for a part counted from the start; a negative
    part (counted from the end) through _split_part_negative, which counts
    the delimiters. -#}
{% macro postgres__split_part(string_text, delimiter_text, part_number) -%}
    {%- if part_number >= 0 -%}
    {{ dbt.default__split_part(string_text, delimiter_text, part_number) }}
    {%- else -%}
    {{ dbt._split_part_negative(string_text, delimiter_text, part_number) }}
    {%- endif -%}
{%- endmacro %}


{#- Timestamps ---------------------------------------------------------- -#}

{#- As dbt-postgres: now(), a timestamp with time zone. Renders text, as the
    public macro expects. -#}
{% macro postgres__current_timestamp() -%}
    now()
{%- endmacro %}

{#- As dbt-postgres: snapshots store the current time as a timestamp without
    time zone. -#}
{% macro postgres__snapshot_get_time() -%}
    {{ current_timestamp() }}::timestamp without time zone
{%- endmacro %}

{#- As dbt-postgres: the deprecated backcompat time cast to type_timestamp
    (dbt's default writes `timestamp` itself, so a project that replaces
    type_timestamp changes only Postgres's)... -#}
{% macro postgres__current_timestamp_backcompat() -%}
    current_timestamp::{{ type_timestamp() }}
{%- endmacro %}

{#- ... and its UTC form converted to UTC first, where dbt's default is the
    backcompat time unconverted. -#}
{% macro postgres__current_timestamp_in_utc_backcompat() -%}
    (current_timestamp at time zone 'utc')::{{ type_timestamp() }}
{%- endmacro %}
