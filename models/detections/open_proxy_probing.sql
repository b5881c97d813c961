{#- A request in absolute form (`GET http://other.example/ HTTP/1.1`) or a CONNECT asks this server
    to relay to another: someone looking for an open proxy (CrowdSec's http-open-proxy). -#}
{{ flagged_probing('listed_requests', 'proxy_request', 'url', var('open_proxy_probing_window'), 1) }}
