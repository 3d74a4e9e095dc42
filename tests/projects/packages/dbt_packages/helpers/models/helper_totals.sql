-- A package model calling its own macro unqualified and a transitive package's.
-- In a package node, unqualified names find the package's macros before the root's,
-- inside a macro too: local_first() calls inner_name(), which both define.
select customer, sum({{ cents('amount') }}) as total_cents, {{ base_utils.double('1') }} as two,
    '{{ local_first() }}' as inner_name
from {{ ref('raw_orders') }}
group by customer
