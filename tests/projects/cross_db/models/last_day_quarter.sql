select {{ last_day("date '2024-05-10'", 'quarter') }} as v
