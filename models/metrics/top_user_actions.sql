with

events as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('window_size')) }} as windowed
),

action_counts as (
    select
        user_action,
        count(*) as count_user_activity,
        window_start,
        window_end
    from events
    group by window_start, window_end, user_action
    having {{ retained_windows() }}
),

ranked_user_actions as (
    select
        user_action,
        count_user_activity,
        window_start,
        window_end,
        row_number() over (
            partition by window_start, window_end
            order by count_user_activity desc, user_action
        ) as action_rank
    from action_counts
)

select
    user_action,
    count_user_activity,
    action_rank,
    window_start,
    window_end
from ranked_user_actions
where action_rank <= 5
