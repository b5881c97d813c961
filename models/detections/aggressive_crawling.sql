{#- One client (IP and agent) fetching pages, not assets, far faster than a reader: CrowdSec's
    http-crawl-non_statics. The search engines of seed allowed_user_agents never count. -#}
with

requests as (
    select
        windowed.*,
        lower(split_part(url, '?', 1)) as path
    from {{ tumble(ref('website_requests'), 'request_timestamp', var('aggressive_crawling_window')) }} as windowed
    where user_agent is not null and http_method in ('GET', 'HEAD') and not {{ has_tag('list:allowed_user_agents') }}
),

pages as (
    select * from requests
    where not (path like '/static/%' or path like '%.css' or path like '%.js' or path like '%.png'
               or path like '%.jpg' or path like '%.jpeg' or path like '%.gif' or path like '%.svg'
               or path like '%.ico' or path like '%.webp' or path like '%.woff' or path like '%.woff2')
),

per_client as (
    select
        ip_address,
        user_agent,
        count(*) as requests,
        count(distinct path) as paths,
        window_start,
        window_end
    from pages
    group by window_start, window_end, ip_address, user_agent
    having count(*) >= {{ var('aggressive_crawling_min_requests') }}
)

select {{ alert_columns(entity='ip_address', event_count='requests', distinct_count='paths', example='user_agent') }}
from per_client
{{ emit_on_window_close() }}
