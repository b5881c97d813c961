{#- The columns every detection returns, in this order: security_alerts is their union. -#}
{% macro alert_columns(detection, severity, entity_type, entity, target_username, event_count, distinct_count, example) -%}
    cast('{{ detection }}' as varchar) as detection,
    cast('{{ severity }}' as varchar) as severity,
    cast('{{ entity_type }}' as varchar) as entity_type,
    cast({{ entity }} as varchar) as entity,
    cast({{ target_username }} as varchar) as target_username,
    cast({{ event_count }} as bigint) as event_count,
    cast({{ distinct_count }} as bigint) as distinct_count,
    cast({{ example }} as varchar) as example,
    window_start,
    window_end
{%- endmacro %}
