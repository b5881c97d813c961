{#- The select list of a detection: its alert columns (alert_schema), named after the model, with
    severity and entity type from its yml `config.meta` and an alert_id over its grain. Called with
    keyword arguments, each a SQL expression over the detection's last CTE:
    alert_columns(entity='ip_address', event_count='requests', distinct_count='urls', example='example'),
    plus target_username='username' when the alert names an account (else it is null).
    meta.grain lists the columns besides detection and window_start that tell two alerts apart
    (default: entity, target_username). One alert per attack: the windows of one quiet period (var
    <detection>_quiet_period, else alert_quiet_period; CrowdSec's `blackhole`) share an alert_id, and
    security_alerts keeps the first row of an id, so an attacker who stays above the threshold raises
    one alert, then one more each quiet period, and each extends the ban. Calling this makes the model a source of security_alerts:
    the ref orders security_alerts first, and the folder's post-hook sinks the rows into it. -#}
{% macro alert_columns(entity, event_count, distinct_count, example, target_username=none) -%}
    {%- set target_username = 'null' if target_username is none else target_username -%}
    {%- do ref('security_alerts') -%}
    {#- In a dbt unit test `model` is the test, whose context holds neither the graph nor the tested
        model's meta: the detection is named after the model tested, and severity and entity_type are
        null (the detection_contract test checks them on the real rows). -#}
    {%- set unit_test = execute and model.resource_type == 'unit_test' -%}
    {%- set detection = {'name': model.tested_node_unique_id.split('.')[-1]} if unit_test else model -%}
    {%- set meta = model.config.meta if execute and not unit_test else {} -%}
    {%- if execute and not unit_test and meta.get('severity') not in var('severities') -%}
        {{ exceptions.raise_compiler_error(
            "detection " ~ detection.name ~ ": set config.meta.severity (one of " ~ var('severities') | join(', ')
            ~ ") in its yml entry") }}
    {%- endif -%}
    {%- if execute and not unit_test and meta.get('entity') not in ['ip', 'username', 'url'] -%}
        {{ exceptions.raise_compiler_error(
            "detection " ~ detection.name ~ ": set config.meta.entity (ip, username or url) in its yml entry") }}
    {%- endif -%}
    {%- set values = {'entity': entity, 'target_username': target_username, 'example': example} -%}
    {%- set quiet_seconds = interval_seconds(detection.name ~ '_quiet_period', var('alert_quiet_period')) | int %}
    md5(
        '{{ detection.name }}'
        {%- for column in meta.get('grain', ['entity', 'target_username']) %}
        || '|' || coalesce(cast({{ values[column] }} as varchar), '')
        {%- endfor %}
        || '|' || cast(cast(floor(extract(epoch from window_start) / {{ quiet_seconds }}) as bigint) as varchar)
    ) as alert_id,
    cast('{{ detection.name }}' as varchar) as detection,
    cast({{ "'" ~ meta.severity ~ "'" if meta.severity else 'null' }} as varchar) as severity,
    cast({{ "'" ~ meta.entity ~ "'" if meta.entity else 'null' }} as varchar) as entity_type,
    cast({{ entity }} as varchar) as entity,
    cast({{ target_username }} as varchar) as target_username,
    cast({{ event_count }} as bigint) as event_count,
    cast({{ distinct_count }} as bigint) as distinct_count,
    cast({{ example }} as varchar) as example,
    window_start,
    window_end
{%- endmacro %}
