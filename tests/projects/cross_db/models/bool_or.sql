select {{ bool_or('b') }} as v
from (values (false), (true), (false)) t(b)
