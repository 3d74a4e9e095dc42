select
    {{ equals('a', 'b') }} as same,
    {{ equals('c', 'd') }} as both_null
from (select 1 as a, 1 as b, cast(null as integer) as c, cast(null as integer) as d)
