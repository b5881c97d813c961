{#- Every request that a list or status detection counts, flagged once: as the requests come
    (RisingWave) or batch by batch (the local engine), so that the detections' 5- and 30-minute
    windows read these few rows instead of matching every request of the window again. A new
    detection of this kind adds its flag here and tumbles over this model. -#}
with

requests as (
    select * from {{ request_rows(ref('website_requests')) }} as landed
)

{{ flagged_requests(
    'requests',
    columns=['request_timestamp', 'ip_address', 'url', 'http_method', 'status_code', 'user_agent', 'username'],
    url_conditions={
        'webshell_file': matches_any('url', 'backdoors', how='file_in'),
        'exploit_in_url': matches_any('url__upper', 'exploit_signatures', how='contains_ci', already_upper=true),
        'sensitive_path': matches_any("split_part(url, '?', 1)", 'sensitive_files', how='ends_with'),
        'admin_path': matches_any("lower(split_part(url, '?', 1))", 'admin_interfaces'),
        'login_endpoint': matches_any('url', 'login_endpoints', how='path_in'),
        'static_path': "split_part(url, '?', 1) like '/static/%'",
        'absolute_url': "lower(url) like 'http://%' or lower(url) like 'https://%'",
        'w00tw00t_url': "lower(url) like '%w00tw00t.at.%'",
    },
    agent_conditions={
        'exploit_in_agent': matches_any('user_agent__upper', 'exploit_signatures', how='contains_ci', already_upper=true),
        'scanner_agent': matches_any('user_agent__upper', 'scanner_user_agents', how='contains_ci', already_upper=true),
        'bad_agent': matches_list_only('user_agent__upper', 'bad_user_agents', 'contains_ci',
                                       ['scanner_user_agents', 'allowed_user_agents'], already_upper=true),
    },
    flags={
        'webshell_file': 'webshell_file',
        'exploit_signature': 'exploit_in_url or exploit_in_agent',
        'sensitive_path': 'sensitive_path',
        'admin_probe': 'admin_path and status_code in (403, 404)',
        'refused_page': 'status_code in (400, 403, 404) and not static_path and not sensitive_path',
        'login_post': "http_method = 'POST' and login_endpoint",
        'scanner_agent': 'scanner_agent',
        'bad_agent': 'bad_agent',
        'proxy_request': "http_method = 'CONNECT' or absolute_url",
        'w00tw00t': 'w00tw00t_url',
        'login': "user_action = 'login' and username is not null",
    },
) }}
