{#- `key = 'value'` lines of a WITH (...) clause; a value `secret <name>` references a RisingWave
    SECRET and is not quoted. -#}
{% macro with_properties(properties) -%}
{%- for key, value in properties.items() %}
    {{ key }} = {{ value if (value | string).startswith('secret ') else "'" ~ value ~ "'" }}
    {%- if not loop.last %},{% endif %}
{%- endfor %}
{%- endmacro %}
