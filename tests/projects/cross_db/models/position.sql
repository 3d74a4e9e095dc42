select {{ position("'b'", "'abc'") }} as v
