select {{ right("'abcdef'", 2) }} as v
