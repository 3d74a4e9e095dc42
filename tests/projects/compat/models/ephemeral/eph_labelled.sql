select id, amount, case when amount >= 20 then 'large' else 'small' end as size
from {{ ref('eph_positive') }}
