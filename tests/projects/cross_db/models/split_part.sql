select
    {{ split_part("'a,b,c'", "','", 2) }} as second,
    {{ split_part("'a,b,c'", "','", -1) }} as last
