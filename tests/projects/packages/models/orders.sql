-- The root project's `orders`; the helpers package has a disabled model of the same name.
select
    id,
    customer,
    {{ helpers.cents('amount') }} as amount_cents,
    {{ base_utils.double('id') }} as id_doubled,
    {{ shared_utils.shout('status') }} as status_loud
from {{ ref('raw_orders') }}
