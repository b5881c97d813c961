with

requests as (
    select
        windowed.*,
        split_part(url, '?', 1) as path
    from {{ tumble(ref('website_requests'), 'request_timestamp', var('sensitive_files_window')) }} as windowed
),

sensitive as (
    {{ matching_rows('requests', 'path', 'sensitive_files', how='ends_with') }}
),

per_ip as (
    {{ distinct_per_ip('sensitive', 'path', var('sensitive_files_min_paths')) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
