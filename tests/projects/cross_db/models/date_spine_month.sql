{{ date_spine('month', "date '2024-01-31'", "date '2024-05-01'") }}
