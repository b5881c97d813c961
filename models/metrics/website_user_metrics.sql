with

events as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('window_size')) }} as windowed
    where username is not null
),

user_activity_stats as (
    select
        username,
        count(*) as total_requests,
        min(response_time) as min_response_time,
        max(response_time) as max_response_time,
        avg(response_time) as avg_response_time,
        percentile_cont(0.5) within group (order by response_time) as median_response_time,
        sum(case when status_code >= 400 then 1 else 0 end) as total_errors,
        sum(case when user_action = 'login' then 1 else 0 end) as login_count,
        sum(case when user_action = 'logout' then 1 else 0 end) as logout_count,
        count(distinct ip_address) as unique_ips,
        window_start,
        window_end
    from events
    group by window_start, window_end, username
    having {{ retained_windows() }}
)

select
    username,
    total_requests,
    min_response_time,
    max_response_time,
    avg_response_time,
    median_response_time,
    total_errors,
    login_count,
    logout_count,
    unique_ips,
    window_start,
    window_end
from user_activity_stats
