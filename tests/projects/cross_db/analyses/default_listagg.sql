select
    {{ default__listagg('x', "','", none, none) }} as plain,
    {{ default__listagg('x', "'|'", 'order by n', 2) }} as limited
from t
