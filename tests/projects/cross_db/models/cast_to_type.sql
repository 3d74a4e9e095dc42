select {{ cast("'2024-03-01 12:30:00'", type_timestamp()) }} as v
