{%- set rows = range(3) | list -%}
{% for r in rows %}
select {{ r }} as i, '{{ loop.index }}/{{ loop.length }}' as pos{% if not loop.last %} union all{% endif %}
{% endfor %}
{% set x = none %}{{ "" if x is none else x }}
{% set m = {"k": rows | map("string") | join("-")} %}
-- {{ m.k }} {{ rows | select("odd") | list }} {{ "a,b".split(",") }} {{ [3,1,2] | sort | first }}
