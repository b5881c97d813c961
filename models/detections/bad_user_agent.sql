{#- Crawlers, scrapers and other unwanted clients of CrowdSec's bad user agent list (low severity).
    Scanners alert as scanner_user_agent (high); the search engines of allowed_user_agents never
    alert by their agent alone (listed_requests' is_bad_agent). -#}
{{ flagged_probing('listed_requests', 'bad_agent', 'user_agent', var('bad_user_agent_window'), 1) }}
