{#- The site leaks: a file that must never be served (an environment file, VCS metadata, credentials,
    a database dump, a configuration backup; seed exposed_files) was answered 2xx. The entity is the
    URL's path, whoever asked: the fix is on the site, and a client is never banned for it. -#}
with

served as (
    select
        windowed.*,
        split_part(url, '?', 1) as path
    from {{ tumble(ref('listed_requests'), 'request_timestamp', var('site_exposure_window')) }} as windowed
    where is_exposed_file
),

per_path as (
    select
        path,
        count(*) as requests,
        count(distinct ip_address) as clients,
        max(ip_address || ' ' || http_method || ' ' || url) as example,
        window_start,
        window_end
    from served
    group by window_start, window_end, path
)

select {{ alert_columns(entity='path', event_count='requests', distinct_count='clients', example='example') }}
from per_path
{{ emit_on_window_close() }}
