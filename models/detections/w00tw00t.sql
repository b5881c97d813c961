{#- The ZmEu-era `GET /w00tw00t.at.ISC.SANS.DFind:)` fingerprint request (CrowdSec's http-w00tw00t). -#}
with

fingerprints as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('w00tw00t_window')) }} as windowed
    where lower(url) like '%w00tw00t.at.%'
),

per_ip as (
    {{ distinct_per_ip('fingerprints', 'url', 1) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
