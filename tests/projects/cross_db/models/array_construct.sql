select
    {{ array_construct(['1', '2', '3']) }} as three,
    {{ array_construct([], 'varchar') }} as empty_text,
    {{ array_construct() }} as empty_default
