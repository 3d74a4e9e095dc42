select {{ datediff("date '2024-01-01'", "date '2024-03-01'", 'day') }} as v
