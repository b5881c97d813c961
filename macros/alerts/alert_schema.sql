{#- The columns of security_alerts, in this order: every detection returns them (alert_columns)
    and sinks them into security_alerts (sink_into_alerts), so they are defined here only. -#}
{% macro alert_schema() -%}
    {{ return([
        ('alert_id', 'varchar'),
        ('detection', 'varchar'),
        ('severity', 'varchar'),
        ('entity_type', 'varchar'),
        ('entity', 'varchar'),
        ('target_username', 'varchar'),
        ('event_count', 'bigint'),
        ('distinct_count', 'bigint'),
        ('example', 'varchar'),
        ('window_start', 'timestamptz'),
        ('window_end', 'timestamptz'),
    ]) }}
{%- endmacro %}
