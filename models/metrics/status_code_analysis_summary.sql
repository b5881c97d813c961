with

events as (
    select * from {{ tumble(ref('website_logs_source'), 'request_timestamp', var('window_size')) }} as windowed
),

status_codes as (
    select * from {{ ref('http_status_codes') }}
),

status_code_counts as (
    select
        status_code,
        count(*) as count_status_code,
        avg(response_time) as avg_response_time,
        window_start,
        window_end
    from events
    group by status_code, window_start, window_end
),

status_code_analysis as (
    select
        status_code,
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
)

select
    status_code_analysis.status_code,
    coalesce(status_codes.status_class, 'unknown') as status_class,
    status_codes.description as status_description,
    status_code_analysis.count_status_code,
    status_code_analysis.avg_response_time,
    status_code_analysis.cumulative_count,
    status_code_analysis.cumulative_percentage,
    status_code_analysis.window_start,
    status_code_analysis.window_end
from status_code_analysis
left join status_codes on status_codes.status_code = status_code_analysis.status_code
