with

logins as (
    select * from {{ tumble(ref('listed_requests'), 'request_timestamp', var('account_takeover_window')) }} as windowed
    where is_login
),

per_account as (
    select
        ip_address,
        username,
        sum(case when status_code in (401, 403) then 1 else 0 end) as failures,
        min(case when status_code in (401, 403) then request_timestamp end) as first_failure,
        max(case when status_code in (200, 302) then request_timestamp end) as last_success,
        count(*) as attempts,
        window_start,
        window_end
    from logins
    group by window_start, window_end, ip_address, username
)

select {{ alert_columns(entity='username', target_username='username', event_count='attempts', distinct_count='failures', example='ip_address') }}
from per_account
where failures >= {{ var('account_takeover_min_failures') }} and last_success > first_failure
{{ emit_on_window_close() }}
