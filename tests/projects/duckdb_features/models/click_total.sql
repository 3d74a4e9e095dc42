select sum(n) as total from {{ source('lake', 'clicks') }}
