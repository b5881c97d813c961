{#- Every detection's alerts in one table: each model tagged `detection` (the detections folder)
    sinks its rows here (macro sink_into_alerts), so a new detection joins without an edit here.
    On RisingWave the sink `security_alerts_sink` sends these rows to the `security_alerts` topic;
    on the local target `secmon stream` publishes them. On RisingWave a repeated alert_id (a sink
    re-created by --full-refresh sends its windows again) keeps the first row, so the Kafka sink does
    not send an update of it; the local engine publishes each alert_id once (secmon.engine.alerts). Alerts are kept for var
    `retention`: a time to live on RisingWave (macro retention_seconds), deletes in the local engine. -#}
create table if not exists {{ this }} (
{%- for column, type in alert_schema() %}
    {{ column }} {{ type }},
{%- endfor %}
    primary key (alert_id)
)
{%- if target.type == 'risingwave' %}
on conflict do nothing
with (retention_seconds = {{ retention_seconds() }})
{%- endif %}
