select {{ dateadd('week', -2, "date '2024-01-10'") }} as v
