{#- Every request that a list or status detection counts, with one is_<flag> column per thing they
    look for. The pattern lists were matched once, where the line was read (`list:<name>` tags,
    secmon/core/classify/lists.py and data/pattern_lists.csv); here they combine with the request's
    own columns (status, method, user). A new detection of this kind adds its flag here and tumbles
    over this model. A file matched by its name alone (a webshell's, a sensitive file's) counts against
    the client only when the site did not serve it: answered 2xx, it is the site's own content, or
    its leak, which site_exposure reports by URL. -#}
with

requests as (
    select * from {{ request_rows(ref('website_requests')) }} as landed
)

{{ flagged_requests(
    'requests',
    columns=['request_timestamp', 'ip_address', 'url', 'http_method', 'status_code', 'user_agent', 'username'],
    flags={
        'webshell_file': has_tag('list:backdoors') ~ ' and ' ~ not_served(),
        'exploit_signature': has_tag('list:exploit_signatures'),
        'sensitive_path': has_tag('list:sensitive_files') ~ ' and ' ~ not_served(),
        'exposed_file': has_tag('list:exposed_files') ~ ' and status_code between 200 and 299',
        'admin_probe': has_tag('list:admin_interfaces') ~ ' and status_code in (403, 404)',
        'refused_page': "status_code in (400, 403, 404) and split_part(url, '?', 1) not like '/static/%' and not "
                        ~ has_tag('list:sensitive_files'),
        'login_post': "http_method = 'POST' and " ~ has_tag('list:login_endpoints'),
        'scanner_agent': has_tag('list:scanner_user_agents'),
        'bad_agent': has_tag('list:bad_user_agents'),
        'proxy_request': "http_method = 'CONNECT' or lower(url) like 'http://%' or lower(url) like 'https://%'",
        'w00tw00t': "lower(url) like '%w00tw00t.at.%'",
        'login': "user_action = 'login' and username is not null",
    },
) }}
