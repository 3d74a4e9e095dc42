select id, {{ label('status') }} as label
from {{ ref('events') }}
