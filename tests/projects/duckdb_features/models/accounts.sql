select id, name from {{ source('crm', 'accounts') }}
