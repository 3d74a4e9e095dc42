select {{ cast_bool_to_text('true') }} as v
