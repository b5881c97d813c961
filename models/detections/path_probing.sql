with

missing_pages as (
    select
        windowed.*,
        split_part(url, '?', 1) as path
    from {{ tumble(ref('website_requests'), 'request_timestamp', var('path_probing_window')) }} as windowed
    where status_code in (400, 403, 404)
),

{#- CrowdSec's http-probing counts non-static paths; sensitive files have a detection of their own. -#}
probes as (
    select * from missing_pages
    where not (path like '/static/%')
      and not {{ matches_any('path', 'sensitive_files', how='ends_with') }}
),

per_ip as (
    {{ distinct_per_ip('probes', 'path', var('path_probing_min_paths')) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
