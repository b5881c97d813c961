{#- The Kafka connection of RisingWave's source and sink: the broker and, when
    kafka_security_protocol asks for it, TLS and SASL. The SASL password is a RisingWave SECRET
    that `secmon deploy` creates from SECMON_KAFKA_SASL_PASSWORD, so it appears in no DDL and in
    nothing dbt writes to target/. -#}
{% macro kafka_properties() -%}
    {%- set properties = {'properties.bootstrap.server': var('kafka_bootstrap_servers')} -%}
    {%- set protocol = var('kafka_security_protocol') | upper -%}
    {%- if protocol != 'PLAINTEXT' -%}
        {%- do properties.update({'properties.security.protocol': protocol}) -%}
        {%- if var('kafka_ssl_ca_location') -%}
            {%- do properties.update({'properties.ssl.ca.location': var('kafka_ssl_ca_location')}) -%}
        {%- endif -%}
        {%- if protocol.startswith('SASL') -%}
            {%- do properties.update({
                'properties.sasl.mechanism': var('kafka_sasl_mechanism'),
                'properties.sasl.username': var('kafka_sasl_username'),
                'properties.sasl.password': 'secret ' ~ var('kafka_sasl_password_secret'),
            }) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(properties) }}
{%- endmacro %}
