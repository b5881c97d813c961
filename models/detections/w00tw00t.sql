{#- The ZmEu-era `GET /w00tw00t.at.ISC.SANS.DFind:)` fingerprint request (CrowdSec's http-w00tw00t). -#}
{{ flagged_probing('listed_requests', 'w00tw00t', 'url', var('w00tw00t_window'), 1) }}
