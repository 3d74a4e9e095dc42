{#- The generic implementations dbt-duckdb replaces, called directly as a package may: compiled, not run. -#}
select {{ default__dateadd('day', 1, 'order_date') }} as v
