select {{ hash("'abc'") }} as v
