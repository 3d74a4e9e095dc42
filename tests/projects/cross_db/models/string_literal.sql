select {{ string_literal('hello') }} as v
