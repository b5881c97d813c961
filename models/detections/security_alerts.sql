{#- Every detection in one schema. On RisingWave the sink `security_alerts_sink` sends these rows
    to the `security_alerts` topic; on the local target `secmon stream` publishes them. -#}
{%- set detections = ['brute_force', 'credential_stuffing', 'account_takeover', 'path_probing',
                      'admin_interface_probing', 'sensitive_files', 'sqli_probing', 'xss_probing',
                      'path_traversal', 'bad_user_agent', 'request_flood', 'switching_user_agents'] %}

with

detections as (
{%- for detection in detections %}
    select * from {{ ref(detection) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
)

select
    md5(
        detection || '|' || entity || '|' || coalesce(target_username, '')
        || '|' || cast(cast(extract(epoch from window_start) as bigint) as varchar)
    ) as alert_id,
    detection,
    severity,
    entity_type,
    entity,
    target_username,
    event_count,
    distinct_count,
    example,
    window_start,
    window_end
from detections
