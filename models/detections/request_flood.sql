with

requests as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('request_flood_window')) }} as windowed
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct url) as urls,
        max(url) as example,
        window_start,
        window_end
    from requests
    group by window_start, window_end, ip_address
),

population as (
    select
        window_start,
        avg(requests) as mean_requests_per_ip
    from per_ip
    group by window_start
),

floods as (
    select per_ip.*
    from per_ip
    inner join population on population.window_start = per_ip.window_start
    where per_ip.requests >= {{ var('request_flood_min_requests') }}
      and per_ip.requests >= {{ var('request_flood_factor') }} * population.mean_requests_per_ip
)

select {{ alert_columns(entity='ip_address', event_count='requests', distinct_count='urls', example='example') }}
from floods
{{ emit_on_window_close() }}
