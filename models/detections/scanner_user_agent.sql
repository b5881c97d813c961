{#- A security scanner or exploit tool that names itself in the user agent (seed
    scanner_user_agents: nikto, sqlmap, nuclei, masscan, …). Crawlers are bad_user_agent's. -#}
{{ flagged_probing('listed_requests', 'scanner_agent', 'user_agent', var('scanner_user_agent_window'), 1) }}
