select
    {{ listagg('x') }} as plain,
    {{ listagg('x', "'|'", 'order by n') }} as ordered,
    {{ listagg('x', "'|'", 'order by n desc', 2) }} as limited
from (values ('b', 2), ('a', 1), ('c', 3)) t(x, n)
