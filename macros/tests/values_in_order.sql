{#- Columns hold non-decreasing values left to right on every row, e.g. min <= median <= max. -#}
{% test values_in_order(model, columns) %}
select *
from {{ model }}
where not (
{%- for i in range(columns | length - 1) %}
    {{ columns[i] }} <= {{ columns[i + 1] }}{{ ' and' if not loop.last }}
{%- endfor %}
)
{% endtest %}
