{#- Every detection's alerts in one table: each model tagged `detection` (the detections folder)
    sinks its rows here (macro sink_into_alerts), so a new detection joins without an edit here.
    On RisingWave the sink `security_alerts_sink` sends these rows to the `security_alerts` topic;
    on the local target `secmon stream` publishes them. -#}
create table if not exists {{ this }} (
{%- for column, type in alert_schema() %}
    {{ column }} {{ type }},
{%- endfor %}
    primary key (alert_id)
)
