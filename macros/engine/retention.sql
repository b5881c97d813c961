{#- Retention (var `retention`, default 7 days) on RisingWave; the local engine deletes what ended
    before it instead (secmon/engine/refresh.py, Refresher.prune).

    retained_windows(): the temporal filter of a windowed metric view, in the HAVING of its
    aggregation (`having {{ retained_windows() }}`; `true` on the local target). It compares an
    aggregate, max(window_end), and not the group key window_end itself: RisingWave's optimizer
    pushes a predicate on group-key columns below the aggregation (src/frontend/src/optimizer/
    plan_node/logical_agg.rs, LogicalAgg::predicate_pushdown), where it would keep a week of raw
    events as the filter's state; on an aggregate it stays above it and keeps a week of aggregates
    (docs.risingwave.com/processing/sql/temporal-filters: rows leaving the range are deleted from
    storage). The interval is in seconds, so `now() - interval` is the same instant whatever the
    session time zone (an interval in days is added in the session's zone). The aggregation's
    own state is cleaned behind the source's watermark: it groups by window_start first.
    Not for the EMIT ON WINDOW CLOSE detections: RisingWave refuses a temporal filter in such a view
    (risingwave issue 22653); their state is cleaned behind the watermark, and their alerts expire
    from security_alerts by retention_seconds(). -#}
{% macro retained_windows(end_column='window_end') -%}
    {{ return(adapter.dispatch('retained_windows')(end_column)) }}
{%- endmacro %}

{% macro risingwave__retained_windows(end_column) -%}
    max({{ end_column }}) > now() - INTERVAL '{{ retention_seconds() }} seconds'
{%- endmacro %}

{% macro postgres__retained_windows(end_column) -%}
    true
{%- endmacro %}

{#- The retention in whole seconds, for RisingWave's table property `retention_seconds` (a time to
    live: compaction reclaims rows written longer ago than that; risingwave
    src/frontend/src/utils/with_options.rs) and the metric views' temporal filters. -#}
{% macro retention_seconds() -%}
    {{ interval_seconds('retention') }}
{%- endmacro %}

{#- Var `name`, an interval written as a whole number of seconds, minutes, hours, days or weeks, in seconds. -#}
{% macro interval_seconds(name, default=none) -%}
    {%- set text = var(name, default) | string -%}
    {%- set match = modules.re.match('^\\s*(\\d+)\\s*(second|minute|hour|day|week)s?\\s*$', text) -%}
    {%- if not match -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " = '" ~ text ~ "': write it as a whole number of seconds, minutes, hours, days or weeks") }}
    {%- endif -%}
    {{ match.group(1) | int * {'second': 1, 'minute': 60, 'hour': 3600, 'day': 86400, 'week': 604800}[match.group(2)] }}
{%- endmacro %}
