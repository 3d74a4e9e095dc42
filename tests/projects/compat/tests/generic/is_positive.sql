{#- A custom generic test: rows where the column is negative (or zero unless allowed). -#}
{% test is_positive(model, column_name, allow_zero=false) %}
select *
from {{ model }}
where {{ column_name }} < 0
{%- if not allow_zero %} or {{ column_name }} = 0{% endif %}
{% endtest %}
