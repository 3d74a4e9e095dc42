-- A package model calling its own macro unqualified and a transitive package's.
select customer, sum({{ cents('amount') }}) as total_cents, {{ base_utils.double('1') }} as two
from {{ ref('raw_orders') }}
group by customer
