with

requests as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('sqli_probing_window')) }} as windowed
),

probes as (
    {{ matching_rows('requests', 'url', 'sqli_patterns', how='contains_ci') }}
),

per_ip as (
    {{ distinct_per_ip('probes', 'url', var('sqli_probing_min_requests')) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
