with

requests as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('path_traversal_window')) }} as windowed
),

probes as (
    select * from requests
    where {{ matches_any('url', 'path_traversal', how='contains') }}
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct url) as urls,
        max(url) as example,
        window_start,
        window_end
    from probes
    group by ip_address, window_start, window_end
    having count(distinct url) >= {{ var('path_traversal_min_requests') }}
)

select {{ alert_columns('path_traversal', 'high', 'ip', 'ip_address', 'null', 'requests', 'urls', 'example') }}
from per_ip
