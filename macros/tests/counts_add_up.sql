{#- Per window, the model's `column_name` sums to the number of source events in that window
    (optionally only those matching `source_filter`). -#}
{% test counts_add_up(model, column_name, source_model, window_size, source_filter='true') %}
with model_counts as (
    select window_start, sum({{ column_name }}) as counted
    from {{ model }}
    group by window_start
),

source_counts as (
    select window_start, count(*) as events
    from {{ tumble(source_model, 'request_timestamp', window_size) }} as windowed
    where {{ source_filter }}
    group by window_start
)

select *
from source_counts
full outer join model_counts using (window_start)
where coalesce(counted, -1) <> coalesce(events, -1)
{% endtest %}
