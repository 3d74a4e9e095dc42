{#- Calls through the `dbt` namespace, as packages write them. -#}
select {{ dbt.dateadd('day', 1, 'order_date') }} as a, {{ dbt.type_string() }} as b, {{ dbt.concat(['x', 'y']) }} as c
