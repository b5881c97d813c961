{#- A request in absolute form (`GET http://other.example/ HTTP/1.1`) or a CONNECT asks this server
    to relay to another: someone looking for an open proxy (CrowdSec's http-open-proxy). -#}
with

proxy_requests as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('open_proxy_probing_window')) }} as windowed
    where http_method = 'CONNECT' or lower(url) like 'http://%' or lower(url) like 'https://%'
),

per_ip as (
    {{ distinct_per_ip('proxy_requests', 'url', 1) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
