select {{ default__last_day('order_date', 'quarter') }} as v
