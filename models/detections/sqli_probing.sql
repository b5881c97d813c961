with

requests as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('sqli_probing_window')) }} as windowed
),

probes as (
    select * from requests
    where {{ matches_any('url', 'sqli_patterns', how='contains_ci') }}
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
    having count(distinct url) >= {{ var('sqli_probing_min_requests') }}
)

select {{ alert_columns('sqli_probing', 'high', 'ip', 'ip_address', 'null', 'requests', 'urls', 'example') }}
from per_ip
