{#- Every window is exactly `size` long. -#}
{% test window_length(model, size, start_column='window_start', end_column='window_end') %}
select *
from {{ model }}
where {{ end_column }} <> {{ start_column }} + INTERVAL '{{ size }}'
{% endtest %}
