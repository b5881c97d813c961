CREATE CONNECTION IF NOT EXISTS public.secmon_kafka WITH (
    type = 'kafka',
    properties.bootstrap.server = 'broker-1.example.com:9093,broker-2.example.com:9093',
    properties.security.protocol = 'SASL_SSL',
    properties.ssl.ca.location = '/etc/ssl/certs/broker-ca.pem',
    properties.sasl.mechanism = 'SCRAM-SHA-512',
    properties.sasl.username = 'secmon',
    properties.sasl.password = secret public.secmon_kafka_sasl_password
)
