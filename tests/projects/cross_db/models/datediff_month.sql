select {{ datediff("date '2024-01-31'", "date '2024-02-01'", 'month') }} as v
