with

requests as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('switching_user_agents_window')) }} as windowed
    where user_agent is not null
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct user_agent) as agents,
        max(user_agent) as example,
        window_start,
        window_end
    from requests
    group by ip_address, window_start, window_end
    having count(distinct user_agent) >= {{ var('switching_user_agents_min_agents') }}
)

select {{ alert_columns('switching_user_agents', 'medium', 'ip', 'ip_address', 'null', 'requests', 'agents', 'example') }}
from per_ip
