select {{ last_day("date '2024-02-10'", 'month') }} as v
