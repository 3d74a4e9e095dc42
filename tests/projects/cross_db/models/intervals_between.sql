select {{ get_intervals_between("date '2024-01-01'", "date '2024-01-31'", 'day') }} as v
