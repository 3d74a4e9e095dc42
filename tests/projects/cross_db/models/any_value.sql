select {{ any_value('x') }} as v
from (values ('a'), ('a')) t(x)
