select {{ datediff("timestamp '2023-12-31 23:59:59'", "timestamp '2024-01-01 00:00:00'", 'year') }} as v
