select {{ array_concat(array_construct(['1', '2']), array_construct(['3', '4'])) }} as v
