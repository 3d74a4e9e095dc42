select
    cast('x' as {{ type_string() }}) as s,
    cast('2024-01-01' as {{ type_timestamp() }}) as ts,
    cast(1.5 as {{ type_float() }}) as f,
    cast(1.5 as {{ type_numeric() }}) as n,
    cast(1 as {{ type_bigint() }}) as b,
    cast(1 as {{ type_int() }}) as i,
    cast(true as {{ type_boolean() }}) as bo
