create table if not exists "dev"."public"."security_alerts" (
    alert_id varchar,
    detection varchar,
    severity varchar,
    entity_type varchar,
    entity varchar,
    target_username varchar,
    event_count bigint,
    distinct_count bigint,
    example varchar,
    window_start timestamptz,
    window_end timestamptz,
    primary key (alert_id)
)
append only
on conflict do nothing
with (retention_seconds = 604800)
