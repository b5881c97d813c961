{#- Every detection's alerts in one table: each model tagged `detection` (the detections folder)
    sinks its rows here (macro sink_into_alerts), so a new detection joins without an edit here.
    On RisingWave the sink `security_alerts_sink` sends these rows to the `security_alerts` topic;
    on the local target `secmon stream` publishes them. Alerts are kept for var `retention`: a time
    to live on RisingWave (macro retention_seconds), deletes in the local engine.
    On RisingWave the table is APPEND ONLY because retention_seconds requires it, and an append-only
    table with a primary key takes only ON CONFLICT DO NOTHING (src/frontend/src/handler/
    create_table.rs, the table plan's conflict behaviour and retention checks): a repeated alert_id
    (a sink re-created by --full-refresh sends its windows again) keeps the first row and is not
    sent to Kafka again. The detections emit on window close, so each window's alert comes once;
    the local engine publishes each alert_id once (secmon.engine.alerts). An older cluster's table
    without APPEND ONLY is found by `secmon deploy` (secmon/production/deploy.py, alerts_table_migration). -#}
create table if not exists {{ this }} (
{%- for column, type in alert_schema() %}
    {{ column }} {{ type }},
{%- endfor %}
    primary key (alert_id)
)
{%- if target.type == 'risingwave' %}
append only
on conflict do nothing
with (retention_seconds = {{ retention_seconds() }})
{%- endif %}
