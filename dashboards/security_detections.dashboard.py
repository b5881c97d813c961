"""Security detections: what the detection views found, and the security_alerts table they sink into."""

from secmon.core.classify.seeds import families
from secmon.grafana import panels
from secmon.manifest import detections, models

# One stat per detection of the dbt project (its yml `config.meta.severity` colours it): a new
# detection gets its panel, and with a high severity its alert rule, with no edit here.
detection_stats = [
    panels.stat(
        detection.name.replace("_", " ").capitalize(),
        color=panels.SEVERITY_COLORS[detection.severity],
        description=f"Severity {detection.severity}. {detection.description}",
        sql=f"select count(*) as alerts from {detection.name} where $__timeFilter(window_start)",
    )
    for detection in detections()
]


def flag_counts(flags) -> str:
    """One count per flag column (is_<flag>), named by the flag."""
    return ",\n       ".join(f"count(*) filter (where is_{flag}) as {flag}" for flag in flags)


def per_minute_counts(model: str, flags) -> str:
    """A request-grain model's requests per minute, one series per flag."""
    return f"""
select window_start as time,
       {flag_counts(flags)}
from (
    select *, date_bin('1 minute', request_timestamp, timestamptz '1970-01-01') as window_start
    from {model}
    where $__timeFilter(request_timestamp)
) as per_minute
group by window_start
order by window_start
"""


# The flags of listed_requests, as its yml entry documents them.
listed_flags = [
    column.removeprefix("is_") for column in models()["listed_requests"].columns if column.startswith("is_")
]

# What `secmon explain ALERT_ID` lists (secmon/explain.py read_requests): the rows of website_requests for the
# alert's entity (its account for an alert on a username) within its window, with what each matched (its
# tags, and whether it is the alert's example). Grafana runs no CLI: each alert's row links to this in Explore.
REQUESTS_BEHIND_ALERT = """
select requests.request_timestamp as time, requests.http_method as method, requests.url,
       requests.status_code as status, requests.user_agent, requests.tags,
       coalesce(alerts.example in (requests.url, requests.user_agent), false) as is_example
from security_alerts as alerts
join website_requests as requests
  on requests.request_timestamp >= alerts.window_start and requests.request_timestamp < alerts.window_end
 and case when alerts.entity_type = 'username' then requests.username else requests.ip_address end = alerts.entity
where alerts.alert_id = '${__data.fields.alert_id:percentencode}'
order by requests.request_timestamp
limit 200
"""

dashboard = panels.secmon_dashboard(
    title="Security detections",
    uid="secmon-security-detections",
    description="Alerts of the detection views: one stat per detection, their timeline, attackers and targets.",
    tags=["security"],
    panels=[
        *detection_stats,
        panels.time_series(
            "Alerts over time by detection",
            width=24,
            bars=True,
            description="Alerts per window start, stacked by detection (security_alerts).",
            sql="""
select window_start as time, detection as metric, count(*) as alerts
from security_alerts
where $__timeFilter(window_start)
group by window_start, detection
order by window_start, detection
""",
        ),
        panels.time_series(
            "Attack requests by family",
            width=24,
            bars=True,
            description="Requests per minute whose decoded URL is of an attack family (attack_requests); "
            "a request of two families counts in both.",
            sql=per_minute_counts("attack_requests", families()),
        ),
        panels.time_series(
            "Listed requests by kind",
            width=24,
            bars=True,
            description="Requests per minute that a list or status detection counts, by what it looks for "
            "(listed_requests: webshell and sensitive files, exploit signatures, refused paths, logins, agents…).",
            sql=per_minute_counts("listed_requests", listed_flags),
        ),
        panels.bar_chart(
            "Top attacking IPs",
            height=9,
            horizontal=True,
            description="IPs with the most alerts, and how many detections they tripped (security_alerts).",
            sql="""
select entity as ip_address, count(*) as alerts, count(distinct detection) as detections
from security_alerts
where entity_type = 'ip' and $__timeFilter(window_start)
group by entity
order by alerts desc, ip_address
limit 10
""",
        ),
        panels.bar_chart(
            "Targeted accounts",
            height=9,
            horizontal=True,
            description="Accounts named by alerts, and how many attacking IPs named them (security_alerts).",
            sql="""
select target_username as account, count(*) as alerts, count(distinct entity) as attacking_ips
from security_alerts
where target_username is not null and $__timeFilter(window_start)
group by target_username
order by alerts desc, account
limit 10
""",
        ),
        panels.bar_chart(
            "CrowdSec hub signatures matched",
            height=9,
            horizontal=True,
            description="Requests per CrowdSec hub signature, and from how many IPs (hub_requests).",
            sql="""
select signature, count(*) as requests, count(distinct ip_address) as ips
from hub_requests
where $__timeFilter(request_timestamp)
group by signature
order by requests desc, signature
limit 10
""",
        ),
        panels.bar_chart(
            "Attacks by country and network",
            height=9,
            horizontal=True,
            description="Alerts and attacking IPs per country and autonomous system (security_alerts joined "
            "with ip_enrichment: GeoLite2 data, offline); an address the database does not know stays unknown.",
            sql="""
select coalesce(origin.country_code, '??') || ' ' || coalesce(origin.as_name, 'unknown network') as origin,
       count(*) as alerts, count(distinct alerts.entity) as ips
from security_alerts as alerts
left join ip_enrichment as origin on origin.ip_address = alerts.entity
where alerts.entity_type = 'ip' and $__timeFilter(alerts.window_start)
group by origin.country_code, origin.as_name
order by alerts desc, origin
limit 10
""",
        ),
        panels.table(
            "Latest alerts",
            width=24,
            height=10,
            description="The newest 50 alerts (security_alerts), with their IP's country and network (ip_enrichment). "
            "Each row links to the requests behind its alert in Explore (what `secmon explain ALERT_ID` lists).",
            links={"Requests behind the alert": panels.explore_url(REQUESTS_BEHIND_ALERT)},
            sql="""
select alerts.window_start as time, alerts.severity, alerts.detection, alerts.entity_type, alerts.entity,
       origin.country_code as country, origin.as_name as network, alerts.target_username, alerts.event_count,
       alerts.distinct_count, alerts.example, alerts.alert_id
from security_alerts as alerts
left join ip_enrichment as origin on origin.ip_address = alerts.entity
where $__timeFilter(alerts.window_start)
order by alerts.window_start desc, alerts.detection, alerts.entity
limit 50
""",
        ),
    ],
)
