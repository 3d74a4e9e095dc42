select
    {{ datediff("date '2024-01-06'", "date '2024-01-07'", 'week') }} as sat_to_sun,
    {{ datediff("date '2024-01-07'", "date '2024-01-13'", 'week') }} as sun_to_sat,
    {{ datediff("date '2024-01-14'", "date '2024-01-01'", 'week') }} as backwards
