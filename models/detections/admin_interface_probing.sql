with

refused as (
    select
        windowed.*,
        lower(split_part(url, '?', 1)) as path
    from {{ tumble(ref('website_requests'), 'request_timestamp', var('admin_probing_window')) }} as windowed
    where status_code in (403, 404)
),

admin_paths as (
    {{ matching_rows('refused', 'path', 'admin_interfaces') }}
),

per_ip as (
    {{ distinct_per_ip('admin_paths', 'path', var('admin_probing_min_paths')) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
