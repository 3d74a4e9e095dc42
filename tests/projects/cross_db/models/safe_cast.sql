select {{ safe_cast("'42'", type_int()) }} as v
