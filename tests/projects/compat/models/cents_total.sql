-- Two-argument ref into the local package.
select sum(amount_cents) as total_cents from {{ ref('compat_utils', 'event_cents') }}
