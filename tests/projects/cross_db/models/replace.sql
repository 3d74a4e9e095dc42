select {{ replace("'a-b-c'", "'-'", "'+'") }} as v
