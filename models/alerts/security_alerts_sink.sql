{#- RisingWave only: every alert row to the `security_alerts` topic as JSON, keyed by alert_id. The
    detections emit on window close, so each alert is one row; sinks are at-least-once, so consumers
    drop repeats by alert_id. The model is the whole CREATE SINK (dbt-risingwave runs a `sink` model
    without `connector` as written) because its own sink DDL quotes every property and cannot name
    the Kafka CONNECTION. On the local target `secmon stream` publishes the same JSON. -#}
{{ config(enabled=(target.type == 'risingwave'), materialized='sink') }}
CREATE SINK IF NOT EXISTS {{ this }} FROM {{ ref('security_alerts') }} WITH (
    {{- with_properties(kafka_with(var('alerts_topic'), {'primary_key': 'alert_id'})) }}
) FORMAT PLAIN ENCODE JSON (
    force_append_only = 'true'
)
