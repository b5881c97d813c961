CREATE CONNECTION IF NOT EXISTS public.secmon_kafka WITH (
    type = 'kafka',
    properties.bootstrap.server = 'broker-1.example.com:9093,broker-2.example.com:9093',
    properties.security.protocol = 'SSL',
    properties.ssl.ca.location = '/etc/ssl/certs/broker-ca.pem'
)
