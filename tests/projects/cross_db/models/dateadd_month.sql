select {{ dateadd('month', 1, "date '2024-01-31'") }} as v
