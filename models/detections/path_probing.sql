{#- Distinct refused paths (400, 403, 404) one IP asked for. CrowdSec's http-probing counts non-static
    paths; sensitive files have a detection of their own (listed_requests' is_refused_page). -#}
{{ flagged_probing('listed_requests', 'refused_page', "split_part(url, '?', 1)", var('path_probing_window'), var('path_probing_min_paths')) }}
