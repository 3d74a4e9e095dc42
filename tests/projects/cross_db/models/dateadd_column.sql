select {{ dateadd('hour', 'n', 'ts') }} as v
from (select 3 as n, timestamp '2024-01-01 22:00:00' as ts)
