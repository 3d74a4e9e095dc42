{#- Aggregates of dbt's cross-database macros, rendering the SQL dbt-core's
    global project plus dbt-duckdb's overrides render on DuckDB. -#}

{#- The values of `measure` joined by `delimiter_text` (SQL text: a quoted
    literal), in the order of `order_by_clause` (a whole `order by ...`
    clause) when given, keeping the first `limit_num` values when given. -#}
{% macro listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
    {{ return(adapter.dispatch('listagg', 'dbt') (measure, delimiter_text, order_by_clause, limit_num)) }}
{%- endmacro %}

{#- The generic form: Snowflake's listagg ... within group (order by ...). -#}
{% macro default__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}

    {% if limit_num -%}
    array_to_string(
        array_slice(
            array_agg(
                {{ measure }}
            ){% if order_by_clause -%}
            within group ({{ order_by_clause }})
            {%- endif %}
            ,0
            ,{{ limit_num }}
        ),
        {{ delimiter_text }}
        )
    {%- else %}
    listagg(
        {{ measure }},
        {{ delimiter_text }}
        )
        {% if order_by_clause -%}
        within group ({{ order_by_clause }})
        {%- endif %}
    {%- endif %}

{%- endmacro %}

{#- DuckDB, as dbt-duckdb: string_agg with the order by inside the call; with
    a limit, the first values of the ordered list joined by list_aggr. -#}
{% macro duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {% if limit_num -%}
    list_aggr(
        (array_agg(
            {{ measure }}
            {% if order_by_clause -%}
            {{ order_by_clause }}
            {%- endif %}
        ))[1:{{ limit_num }}],
        'string_agg',
        {{ delimiter_text }}
        )
    {%- else %}
    string_agg(
        {{ measure }},
        {{ delimiter_text }}
        {% if order_by_clause -%}
        {{ order_by_clause }}
        {%- endif %}
        )
    {%- endif %}
{%- endmacro %}


{#- Any one value of the group. -#}
{% macro any_value(expression) -%}
    {{ return(adapter.dispatch('any_value', 'dbt') (expression)) }}
{% endmacro %}

{% macro default__any_value(expression) -%}

    any_value({{ expression }})

{%- endmacro %}

{#- DuckDB, as dbt-duckdb: `arbitrary`, DuckDB's first name for it. -#}
{% macro duckdb__any_value(expression) -%}

    arbitrary({{ expression }})

{%- endmacro %}


{#- Whether any value of the group is true. -#}
{% macro bool_or(expression) -%}
    {{ return(adapter.dispatch('bool_or', 'dbt') (expression)) }}
{% endmacro %}

{% macro default__bool_or(expression) -%}

    bool_or({{ expression }})

{%- endmacro %}
