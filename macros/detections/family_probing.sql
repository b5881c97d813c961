{#- The body of a one-family detection: one row per IP per `window` with at least `min_urls`
    distinct URLs of attack `family` (seeds/attack_families.csv), read from the classified requests. -#}
{% macro family_probing(family, window, min_urls) -%}
{{ flagged_probing('attack_requests', family, 'url', window, min_urls) }}
{%- endmacro %}

{#- The body of a one-flag detection: one row per IP per `window` whose requests of `model` with
    is_<flag> hold at least `min_distinct` distinct values of `value` (an expression over its columns). -#}
{% macro flagged_probing(model, flag, value, window, min_distinct) -%}
with

probes as (
    select
        windowed.*,
        {{ value }} as probed
    from {{ tumble(ref(model), 'request_timestamp', window) }} as windowed
    where is_{{ flag }}
),

per_ip as (
    {{ distinct_per_ip('probes', 'probed', min_distinct) }}
)

select {{ alert_columns(entity='ip_address', event_count='requests', distinct_count='distinct_values', example='example') }}
from per_ip
{{ emit_on_window_close() }}
{%- endmacro %}
