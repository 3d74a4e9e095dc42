{#- A macro used with `{% call %}`: its body arrives as caller(). -#}
{% macro comment_block(label) -%}
    /* {{ label }} */ {{ caller() }}
{%- endmacro %}
