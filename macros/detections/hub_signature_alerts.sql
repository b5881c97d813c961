{#- The body of a CrowdSec signature detection: one row per IP per `window` with a request that
    matched a rule of CrowdSec's hub (hub_requests), of the rules that may ban (`bans`) or of those the
    quality gate caught matching benign requests (`not bans`: they alert without banning). -#}
{% macro hub_signature_alerts(bans, window) -%}
with

matched as (
    select * from {{ tumble(ref('hub_requests'), 'request_timestamp', window) }} as windowed
    where {{ '' if bans else 'not ' }}bans
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct signature) as signatures,
        max(signature || ': ' || url) as example,
        window_start,
        window_end
    from matched
    group by window_start, window_end, ip_address
)

select {{ alert_columns(entity='ip_address', event_count='requests', distinct_count='signatures', example='example') }}
from per_ip
{{ emit_on_window_close() }}
{%- endmacro %}
