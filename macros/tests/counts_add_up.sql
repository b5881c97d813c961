{#- Per window, the model's `column_name` sums to the number of source events in that window
    (optionally only those matching `source_filter`). On RisingWave only closed windows count: the
    view emits a window once the watermark passes its end and sees rows a barrier after the batch
    read of the source does, so open windows differ while traffic flows. -#}
{% test counts_add_up(model, column_name, source_model, window_size, source_filter='true') %}
{%- set closed = "window_start < (select max(request_timestamp) from " ~ source_model ~ ") - INTERVAL '"
    ~ var('watermark_delay') ~ "' - INTERVAL '" ~ window_size ~ "' - INTERVAL '1 minute'"
    if target.type == 'risingwave' else 'true' -%}
with model_counts as (
    select window_start, sum({{ column_name }}) as counted
    from {{ model }}
    where {{ closed }}
    group by window_start
),

source_counts as (
    select window_start, count(*) as events
    from {{ tumble(source_model, 'request_timestamp', window_size) }} as windowed
    where ({{ source_filter }}) and {{ closed }}
    group by window_start
)

select *
from source_counts
full outer join model_counts using (window_start)
where coalesce(counted, -1) <> coalesce(events, -1)
{% endtest %}
