select kind, count(*) as n from {{ source('lake', 'events') }} group by kind
