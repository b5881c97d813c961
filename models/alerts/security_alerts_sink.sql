{#- RisingWave only: every alert row to the `security_alerts` topic as JSON. The detections emit
    on window close, so each alert is one row; sinks are at-least-once, so consumers drop repeats
    by alert_id. On the local target `secmon stream` publishes the same JSON when the window closes. -#}
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
