{#- A running percentage within each group: never decreases along `order_by`, ends at 100. -#}
{% test cumulative_percentage(model, column_name, partition_by, order_by) %}
with ordered as (
    select
        {{ column_name }} as percentage,
        lag({{ column_name }}) over (partition by {{ partition_by | join(', ') }} order by {{ order_by }}) as previous,
        row_number() over (partition by {{ partition_by | join(', ') }} order by {{ order_by }} desc) as from_last
    from {{ model }}
)
select *
from ordered
where percentage < previous - 1e-9
   or (from_last = 1 and abs(percentage - 100) > 1e-9)
{% endtest %}
