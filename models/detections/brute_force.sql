with

failed_logins as (
    select * from {{ tumble(ref('listed_requests'), 'request_timestamp', var('brute_force_window')) }} as windowed
    where is_login and status_code in (401, 403)
),

per_account as (
    select
        ip_address,
        username,
        count(*) as failures,
        max(user_agent) as example,
        window_start,
        window_end
    from failed_logins
    group by window_start, window_end, ip_address, username
    having count(*) >= {{ var('brute_force_min_failures') }}
)

select {{ alert_columns(entity='ip_address', target_username='username', event_count='failures', distinct_count='1', example='example') }}
from per_account
{{ emit_on_window_close() }}
