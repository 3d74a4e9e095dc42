select {{ default__split_part('name', "' '", 2) }} as v
