-- A package model reading the root project's seed.
select id, {{ to_cents('amount') }} as amount_cents
from {{ ref('events') }}
