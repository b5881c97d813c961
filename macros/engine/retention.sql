{#- Retention (var `retention`, default 7 days) on RisingWave; the local engine deletes what ended
    before it instead (secmon/engine/refresh.py, Refresher.prune).

    retained_windows(): a temporal filter on a windowed metric view's output rows (`where
    {{ retained_windows() }}`; `true` on the local target), so that its
    result stays bounded (its aggregation state is already cleaned behind the watermark, since it
    groups by the window). It filters the output, not the events: a temporal filter keeps every row
    it may have to retract later, and a week of aggregates is far smaller than a week of events.
    Not for the EMIT ON WINDOW CLOSE detections: RisingWave refuses a temporal filter in such a view
    (risingwave issue 22653); their state is cleaned behind the watermark, and their alerts expire
    from security_alerts by retention_seconds(). -#}
{% macro retained_windows(end_column='window_end') -%}
    {{ return(adapter.dispatch('retained_windows')(end_column)) }}
{%- endmacro %}

{% macro risingwave__retained_windows(end_column) -%}
    {{ end_column }} > now() - INTERVAL '{{ var('retention') }}'
{%- endmacro %}

{% macro postgres__retained_windows(end_column) -%}
    true
{%- endmacro %}

{#- The retention in whole seconds, for RisingWave's table property `retention_seconds` (a time to
    live: compaction reclaims rows written longer ago than that; risingwave
    src/frontend/src/utils/with_options.rs). -#}
{% macro retention_seconds() -%}
    {%- set match = modules.re.match('^\\s*(\\d+)\\s*(second|minute|hour|day|week)s?\\s*$', var('retention') | string) -%}
    {%- if not match -%}
        {{ exceptions.raise_compiler_error(
            "var retention = '" ~ var('retention') ~ "': write it as a whole number of seconds, minutes, hours, days or weeks") }}
    {%- endif -%}
    {{ match.group(1) | int * {'second': 1, 'minute': 60, 'hour': 3600, 'day': 86400, 'week': 604800}[match.group(2)] }}
{%- endmacro %}
