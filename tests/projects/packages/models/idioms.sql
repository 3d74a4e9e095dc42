{#- Python-Jinja idioms, in a root model and through package macros. -#}
{%- set parts = [] -%}
{%- for p in ['a', 'b'] -%}{%- do parts.append(p) -%}{%- endfor -%}
{%- set opts = {'sep': '-'} -%}
{%- do opts.update({'tail': 'z'}) -%}
select
    '{{ parts | join(opts["sep"]) }}{{ opts.tail }}' as joined,
    '{{ "%s_%s" % ("left", 42) }}' as formatted,
    '{{ helpers.column_list(ref("raw_orders")) }}' as columns_seen,
    '{{ helpers.greeting() }}' as greeting,
    '{{ helpers.farewell() }}' as farewell,
    '{{ helpers.local_first() }}' as local_first,
    '{{ helpers.early_return(true) }}' as early_return,
    '{{ helpers.with_extras('x', 'y', 'z', flavour='mint') }}' as extras,
    '{{ helpers.column_kinds(ref('raw_orders')) }}' as column_kinds,
    {{ helpers.count_models() }} as model_count,
    '{{ helpers.same_columns(ref("raw_orders"), ref("raw_orders_reordered"), exclude=["NOTE"]) }}' as same_columns,
    '{{ helpers.same_columns(ref("raw_orders"), ref("raw_orders_reordered")) }}' as same_columns_with_note,
    '{{ helpers.grown_lists(ref("raw_orders")) }}' as grown_lists
