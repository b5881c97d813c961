{#- Requests for known webshell and backdoor file names (CrowdSec's backdoors list), whatever the
    directory: a scanner looking for a shell someone else planted. -#}
with

requests as (
    select * from {{ tumble(ref('website_requests'), 'request_timestamp', var('webshell_probing_window')) }} as windowed
),

shell_requests as (
    {{ matching_rows('requests', 'url', 'backdoors', how='file_in') }}
),

per_ip as (
    {{ distinct_per_ip('shell_requests', 'url', var('webshell_probing_min_files')) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
