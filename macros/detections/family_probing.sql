{#- The body of a one-family detection: one row per IP per `window` with at least `min_requests`
    distinct URLs of attack `family` (seeds/attack_families.csv), read from the classified requests. -#}
{% macro family_probing(family, window, min_requests) -%}
with

probes as (
    select * from {{ tumble(ref('attack_requests'), 'request_timestamp', window) }} as windowed
    where is_{{ family }}
),

per_ip as (
    {{ distinct_per_ip('probes', 'url', min_requests) }}
)

select {{ alert_columns('ip_address', 'null', 'requests', 'distinct_values', 'example') }}
from per_ip
{{ emit_on_window_close() }}
{%- endmacro %}
