{#- Requests for known webshell and backdoor file names (CrowdSec's backdoors list), whatever the
    directory: a scanner looking for a shell someone else planted. -#}
{{ flagged_probing('listed_requests', 'webshell_file', 'url', var('webshell_probing_window'), var('webshell_probing_min_urls')) }}
