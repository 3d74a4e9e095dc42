select {{ default__any_value('x') }} as v from t
