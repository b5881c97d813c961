with

requests as (
    select
        windowed.*,
        split_part(url, '?', 1) as path
    from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('sensitive_files_window')) }} as windowed
),

sensitive as (
    select * from requests
    where {{ matches_any('path', 'sensitive_files', how='ends_with') }}
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct path) as paths,
        max(path) as example,
        window_start,
        window_end
    from sensitive
    group by ip_address, window_start, window_end
    having count(distinct path) >= {{ var('sensitive_files_min_paths') }}
)

select {{ alert_columns('sensitive_files', 'high', 'ip', 'ip_address', 'null', 'requests', 'paths', 'example') }}
from per_ip
