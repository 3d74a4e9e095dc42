select {{ length("'abcdef'") }} as v
