select {{ array_append(array_construct(['1', '2']), '3') }} as v
