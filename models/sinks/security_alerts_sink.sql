{#- RisingWave only: every alert row to the `security_alerts` topic as JSON. Sinks are
    at-least-once and an alert's evidence may grow while its window is open, so consumers keep
    the last row per alert_id. On the local target `secmon stream` publishes the same JSON. -#}
{{ config(
    enabled=(target.type == 'risingwave'),
    materialized='sink',
    connector='kafka',
    connector_parameters={
        'properties.bootstrap.server': var('kafka_bootstrap_servers'),
        'topic': var('alerts_topic'),
        'primary_key': 'alert_id',
    },
    data_format='plain',
    data_encode='json',
    format_parameters={'force_append_only': 'true'},
) }}
{{ ref('security_alerts') }}
