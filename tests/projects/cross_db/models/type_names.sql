select
    '{{ type_string() }}' as type_string,
    '{{ type_timestamp() }}' as type_timestamp,
    '{{ type_float() }}' as type_float,
    '{{ type_numeric() }}' as type_numeric,
    '{{ type_bigint() }}' as type_bigint,
    '{{ type_int() }}' as type_int,
    '{{ type_boolean() }}' as type_boolean
