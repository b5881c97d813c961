with

requests as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('bad_user_agent_window')) }} as windowed
    where user_agent is not null
),

{#- Matching each distinct agent once, not each request: there are few agents and 587 patterns. -#}
agents as (
    select distinct user_agent from requests
),

bad_agents as (
    select user_agent from agents
    where {{ matches_any('user_agent', 'bad_user_agents', how='contains_ci') }}
),

per_ip as (
    select
        requests.ip_address,
        count(*) as requests,
        count(distinct requests.user_agent) as agents,
        max(requests.user_agent) as example,
        requests.window_start,
        requests.window_end
    from requests
    inner join bad_agents on bad_agents.user_agent = requests.user_agent
    group by requests.ip_address, requests.window_start, requests.window_end
)

select {{ alert_columns('bad_user_agent', 'low', 'ip', 'ip_address', 'null', 'requests', 'agents', 'example') }}
from per_ip
