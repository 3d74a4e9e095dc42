select {{ default__datediff('first_at', 'second_at', 'week') }} as v
