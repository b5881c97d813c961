with

requests as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('xss_probing_window')) }} as windowed
),

probes as (
    select * from requests
    where {{ matches_any('url', 'xss_patterns', how='contains_ci') }}
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
    having count(distinct url) >= {{ var('xss_probing_min_requests') }}
)

select {{ alert_columns('xss_probing', 'medium', 'ip', 'ip_address', 'null', 'requests', 'urls', 'example') }}
from per_ip
