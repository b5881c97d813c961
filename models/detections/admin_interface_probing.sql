with

refused as (
    select
        windowed.*,
        split_part(url, '?', 1) as path
    from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('admin_probing_window')) }} as windowed
    where status_code in (403, 404)
),

admin_paths as (
    select * from refused
    where {{ matches_any('lower(path)', 'admin_interfaces') }}
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct path) as paths,
        max(path) as example,
        window_start,
        window_end
    from admin_paths
    group by ip_address, window_start, window_end
    having count(distinct path) >= {{ var('admin_probing_min_paths') }}
)

select {{ alert_columns('admin_interface_probing', 'medium', 'ip', 'ip_address', 'null', 'requests', 'paths', 'example') }}
from per_ip
