select {{ dateadd('quarter', 1, "date '2024-11-30'") }} as v
