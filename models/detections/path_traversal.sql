with

requests as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('path_traversal_window')) }} as windowed
),

probes as (
    {{ matching_rows('requests', 'url', 'path_traversal', how='contains') }}
),

per_ip as (
    {{ distinct_per_ip('probes', 'url', var('path_traversal_min_requests')) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
