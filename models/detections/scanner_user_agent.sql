{#- A security scanner or exploit tool that names itself in the user agent (seed
    scanner_user_agents: nikto, sqlmap, nuclei, masscan, …). Crawlers are bad_user_agent's. -#}
with

requests as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('scanner_user_agent_window')) }} as windowed
    where user_agent is not null
),

scanner_requests as (
    {{ matching_rows('requests', 'user_agent', 'scanner_user_agents', how='contains_ci') }}
),

per_ip as (
    {{ distinct_per_ip('scanner_requests', 'user_agent', 1) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
