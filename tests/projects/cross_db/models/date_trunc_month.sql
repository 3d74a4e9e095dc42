select {{ date_trunc('month', "date '2024-05-17'") }} as v
