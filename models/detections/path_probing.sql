with

missing_pages as (
    select
        windowed.*,
        split_part(url, '?', 1) as path
    from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('path_probing_window')) }} as windowed
    where status_code in (400, 403, 404)
),

{#- CrowdSec's http-probing counts non-static paths; sensitive files have a detection of their own. -#}
probes as (
    select * from missing_pages
    where not (path like '/static/%')
      and not {{ matches_any('path', 'sensitive_files', how='ends_with') }}
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct path) as paths,
        max(path) as example,
        window_start,
        window_end
    from probes
    group by ip_address, window_start, window_end
    having count(distinct path) >= {{ var('path_probing_min_paths') }}
)

select {{ alert_columns('path_probing', 'medium', 'ip', 'ip_address', 'null', 'requests', 'paths', 'example') }}
from per_ip
