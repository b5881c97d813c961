{#- One score per attacker, as OWASP CRS's anomaly scoring adds up a request's findings: an IP's
    distinct malicious URLs across every attack family in a window. An attacker who mixes
    techniques (three SQL injections, two XSS, two file probes) crosses no family's own threshold
    and still raises this one alert; its example names the families and the worst request, the one
    the server answered most seriously (5xx, then 2xx, then 3xx, then 4xx). -#}
with

attacks as (
    select * from {{ tumble(ref('attack_requests'), 'request_timestamp', var('web_attack_window')) }} as windowed
),

per_ip as (
    select
        ip_address,
        count(*) as requests,
        count(distinct url) as distinct_urls,
        concat_ws(','
            {%- for family in attack_families() %}, case when bool_or(is_{{ family }}) then '{{ family }}' end{% endfor %}
        ) as families,
        max(cast({{ answered_rank('status_code') }} as varchar) || ' answered ' || cast(status_code as varchar) || ': ' || url)
            as worst_request,
        window_start,
        window_end
    from attacks
    group by window_start, window_end, ip_address
    having count(distinct url) >= {{ var('web_attack_min_urls') }}
),

alerts as (
    select
        *,
        families || ' | ' || substr(worst_request, 3) as example
    from per_ip
)

select {{ alert_columns(entity='ip_address', event_count='requests', distinct_count='distinct_urls', example='example') }}
from alerts
{{ emit_on_window_close() }}
