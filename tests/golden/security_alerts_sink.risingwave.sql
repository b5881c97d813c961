
CREATE SINK IF NOT EXISTS "dev"."public"."security_alerts_sink" FROM "dev"."public"."security_alerts" WITH (
    connector = 'kafka',
    connection = public.secmon_kafka,
    topic = 'security_alerts',
    primary_key = 'alert_id'
) FORMAT PLAIN ENCODE JSON (
    force_append_only = 'true'
)