with

events as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('window_size')) }} as windowed
),

categorised_events as (
    select
        events.referrer,
        action_categories.category,
        events.window_start,
        events.window_end
    from events
    left join {{ ref('action_categories') }} {{ as_of_now() }} as action_categories
        on action_categories.user_action = events.user_action
)

select
    referrer,
    count(*) as referrer_visit_count,
    sum(case when category = 'page_visit' then 1 else 0 end) as page_visits,
    sum(case when category = 'interaction' then 1 else 0 end) as interactions,
    sum(case when category = 'content_interaction' then 1 else 0 end) as content_interactions,
    sum(case when category = 'window_interaction' then 1 else 0 end) as window_interactions,
    window_start,
    window_end
from categorised_events
group by window_start, window_end, referrer
having {{ retained_windows() }}
