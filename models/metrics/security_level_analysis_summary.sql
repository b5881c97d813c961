with

events as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('window_size')) }} as windowed
),

security_profiling as (
    select
        security_level,
        count(*) as count_security_level,
        avg(response_time) as avg_response_time,
        percentile_cont(0.5) within group (order by response_time) as median_response_time,
        percentile_disc(0.5) within group (order by security_level) as median_count_security_level,
        window_start,
        window_end
    from events
    group by window_start, window_end, security_level
    having {{ retained_windows() }}
)

select
    security_level,
    count_security_level,
    avg_response_time,
    median_response_time,
    median_count_security_level,
    window_start,
    window_end
from security_profiling
