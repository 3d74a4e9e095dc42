select {{ last_day("date '2024-05-10'", 'year') }} as v
