{#- Bursts as CrowdSec's leaky buckets catch them (the hub's `type: leaky` HTTP scenarios: WordPress
    login and XML-RPC brute force, author enumeration, wp-config probing, Cacti and Ghost
    enumeration, generic 401/403 brute force, …): nine POSTs to wp-login.php in one second overflow
    a bucket of capacity 5 that a 5-minute count of 20 never sees. Windows hop every
    crowdsec_burst_slide over crowdsec_burst_window, so a burst across a boundary still lies whole in one. -#}
{%- set span_seconds = interval_seconds('crowdsec_burst_window') | int -%}
{%- set slide_seconds = interval_seconds('crowdsec_burst_slide') | int %}
with

requests as (
    select * from {{ hop(ref('website_requests'), 'request_timestamp', slide_seconds, span_seconds) }} as windowed
),

overflows as (
    {{ bucket_overflows('requests', span_seconds, slide_seconds) }}
),

alerts as (
    select
        *,
        array_length(string_to_array(overflowed, ','), 1) as buckets,
        overflowed || ' | ' || example_request as example
    from overflows
)

select {{ alert_columns(entity='ip_address', event_count='requests', distinct_count='buckets', example='example') }}
from alerts
{{ emit_on_window_close() }}
