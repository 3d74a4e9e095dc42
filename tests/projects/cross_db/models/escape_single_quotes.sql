select '{{ escape_single_quotes("they're") }}' as v
