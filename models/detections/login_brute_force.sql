{#- Brute force without user names: real logs rarely carry one, and WordPress answers a failed
    login with 200, so POSTs to login endpoints (seed login_endpoints) are counted per IP, whatever
    the answer. brute_force, credential_stuffing and account_takeover stay for logs with user names. -#}
with

login_posts as (
    select * from {{ tumble(ref('listed_requests'), 'request_timestamp', var('login_brute_force_window')) }} as windowed
    where is_login_post
),

per_ip as (
    select
        ip_address,
        count(*) as posts,
        count(distinct split_part(url, '?', 1)) as endpoints,
        max(split_part(url, '?', 1)) as example,
        window_start,
        window_end
    from login_posts
    group by window_start, window_end, ip_address
    having count(*) >= {{ var('login_brute_force_min_posts') }}
)

select {{ alert_columns(entity='ip_address', event_count='posts', distinct_count='endpoints', example='example') }}
from per_ip
{{ emit_on_window_close() }}
