with

events as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('window_size')) }} as windowed
),

described_events as (
    select
        events.status_code,
        coalesce(status_codes.status_class, 'unknown') as status_class,
        status_codes.description as status_description,
        events.response_time,
        events.window_start,
        events.window_end
    from events
    left join {{ ref('http_status_codes') }} {{ as_of_now() }} as status_codes
        on status_codes.status_code = events.status_code
),

status_code_counts as (
    select
        status_code,
        status_class,
        status_description,
        count(*) as count_status_code,
        avg(response_time) as avg_response_time,
        window_start,
        window_end
    from described_events
    group by window_start, window_end, status_code, status_class, status_description
    having {{ retained_windows() }}
)

select
    status_code,
    status_class,
    status_description,
    count_status_code,
    avg_response_time,
    sum(count_status_code) over (
        partition by window_start, window_end order by status_code
    ) as cumulative_count,
    100.0 * sum(count_status_code) over (partition by window_start, window_end order by status_code)
        / sum(count_status_code) over (partition by window_start, window_end) as cumulative_percentage,
    window_start,
    window_end
from status_code_counts
