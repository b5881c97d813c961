{#- `key = 'value'` lines of a WITH (...) clause; `connection` names a RisingWave CONNECTION, an
    identifier, and is not quoted. -#}
{% macro with_properties(properties) -%}
{%- for key, value in properties.items() %}
    {{ key }} = {{ value if key == 'connection' else "'" ~ value ~ "'" }}
    {%- if not loop.last %},{% endif %}
{%- endfor %}
{%- endmacro %}
