{#- Crawlers, scrapers and other unwanted clients of CrowdSec's bad user agent list (low severity). -#}
with

requests as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('bad_user_agent_window')) }} as windowed
    where user_agent is not null
),

{#- Scanners alert as scanner_user_agent (high); the search engines of allowed_user_agents never
    alert by their agent alone. -#}
bad_agent_requests as (
    {{ matching_rows('requests', 'user_agent', 'bad_user_agents', how='contains_ci',
                     except_lists=['scanner_user_agents', 'allowed_user_agents']) }}
),

per_ip as (
    {{ distinct_per_ip('bad_agent_requests', 'user_agent', 1) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
