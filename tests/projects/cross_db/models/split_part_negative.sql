select {{ _split_part_negative("'a,b,c'", "','", -1) }} as v
