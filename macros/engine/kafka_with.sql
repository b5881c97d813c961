{#- The WITH properties of a Kafka source or sink on `topic`: the broker, TLS and SASL come from the
    RisingWave CONNECTION that `secmon deploy` creates (dbt var kafka_connection), so no model and
    nothing dbt writes to target/ holds a broker setting or a credential. -#}
{% macro kafka_with(topic, extra={}) -%}
    {%- set properties = {
        'connector': 'kafka',
        'connection': target.schema ~ '.' ~ var('kafka_connection'),
        'topic': topic,
    } -%}
    {%- do properties.update(extra) -%}
    {{ return(properties) }}
{%- endmacro %}
