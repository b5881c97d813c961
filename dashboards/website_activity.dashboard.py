"""Website activity: the seed's six panels, on the five metric views and the raw events."""

from secmon.grafana import panels

dashboard = panels.secmon_dashboard(
    title="Website activity",
    uid="secmon-website-activity",
    description="Traffic metrics per one-minute window: referrers, users, security levels, actions, status codes.",
    tags=["website"],
    panels=[
        panels.table(
            "Raw events",
            width=24,
            height=9,
            description="The newest 100 events in the time range (newest_events).",
            sql="""
select request_timestamp as time, ip_address, username, http_method, url, status_code, response_time,
       referrer, user_action, security_level
from newest_events
where $__timeFilter(request_timestamp)
order by request_timestamp desc
limit 100
""",
        ),
        panels.bar_chart(
            "Referrer activity",
            height=9,
            stacked=True,
            description="Visits per referrer by kind of action (referrer_activity_summary).",
            sql="""
select referrer, sum(page_visits) as page_visits, sum(interactions) as interactions,
       sum(content_interactions) as content_interactions, sum(window_interactions) as window_interactions
from referrer_activity_summary
where $__timeFilter(window_start)
group by referrer
order by sum(referrer_visit_count) desc
""",
        ),
        panels.table(
            "User metrics",
            height=9,
            description="The busiest signed-in users over the time range (website_user_metrics).",
            sql="""
select username, sum(total_requests) as requests, sum(total_errors) as errors, sum(login_count) as logins,
       sum(logout_count) as logouts, max(unique_ips) as most_ips_in_a_minute,
       round(cast(sum(avg_response_time * total_requests) / sum(total_requests) as numeric), 1) as avg_response_ms,
       max(max_response_time) as max_response_ms
from website_user_metrics
where $__timeFilter(window_start)
group by username
order by requests desc, username
limit 20
""",
        ),
        panels.time_series(
            "Security levels",
            width=8,
            description="Requests per minute by security level (security_level_analysis_summary).",
            sql="""
select window_start as time, security_level as metric, count_security_level as requests
from security_level_analysis_summary
where $__timeFilter(window_start)
order by window_start, security_level
""",
        ),
        panels.bar_chart(
            "Top five actions",
            width=8,
            horizontal=True,
            description="The five most frequent actions of the newest window in the range (top_user_actions).",
            sql="""
select user_action, count_user_activity as requests
from top_user_actions
where window_start = (select max(window_start) from top_user_actions where $__timeFilter(window_start))
order by action_rank
""",
        ),
        panels.pie_chart(
            "Status codes",
            width=8,
            description="Responses by status code over the time range (status_code_analysis_summary).",
            sql="""
select cast(status_code as varchar) || ' ' || status_class as status, sum(count_status_code) as responses
from status_code_analysis_summary
where $__timeFilter(window_start)
group by status_code, status_class
order by status_code
""",
        ),
    ],
)
