with

requests as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('switching_user_agents_window')) }} as windowed
    where user_agent is not null
),

per_ip as (
    {{ distinct_per_ip('requests', 'user_agent', var('switching_user_agents_min_agents')) }}
)

select {{ alert_columns(entity='ip_address', event_count='requests', distinct_count='distinct_values', example='example') }}
from per_ip
{{ emit_on_window_close() }}
