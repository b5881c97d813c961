{#- No group has more than `max_rows` rows (a top-N view). -#}
{% test at_most_rows_per_group(model, group_by, max_rows) %}
select {{ group_by | join(', ') }}, count(*) as rows_in_group
from {{ model }}
group by {{ group_by | join(', ') }}
having count(*) > {{ max_rows }}
{% endtest %}
