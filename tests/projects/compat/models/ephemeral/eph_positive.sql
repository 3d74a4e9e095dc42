-- Events with an amount: the base of an ephemeral chain.
select id, status, amount from {{ ref('events') }} where amount > 0
