with

failed_logins as (
    select * from {{ tumble(ref('listed_requests'), 'request_timestamp', var('credential_stuffing_window')) }} as windowed
    where is_login and status_code in (401, 403)
),

per_ip as (
    select
        ip_address,
        count(*) as failures,
        count(distinct username) as usernames,
        max(username) as example,
        window_start,
        window_end
    from failed_logins
    group by window_start, window_end, ip_address
    having count(distinct username) >= {{ var('credential_stuffing_min_usernames') }}
)

select {{ alert_columns(entity='ip_address', event_count='failures', distinct_count='usernames', example='example') }}
from per_ip
{{ emit_on_window_close() }}
