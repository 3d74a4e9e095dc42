select {{ date(2024, 2, 29) }} as v
