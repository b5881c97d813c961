CREATE SOURCE IF NOT EXISTS "dev"."public"."website_logs_source" (
    request_timestamp TIMESTAMPTZ,
    ip_address VARCHAR,
    user_agent TEXT,
    url TEXT,
    http_method VARCHAR,
    status_code INTEGER,
    response_time INTEGER,
    referrer TEXT,
    user_id VARCHAR,
    username VARCHAR,
    user_action VARCHAR,
    security_level VARCHAR,
    tags VARCHAR[],
    ingested_at TIMESTAMPTZ AS proctime(),
    WATERMARK FOR request_timestamp AS CASE
        WHEN request_timestamp <= ingested_at + INTERVAL '5 minutes'
        THEN request_timestamp - INTERVAL '5 seconds'
    END
) WITH (
    connector = 'kafka',
    connection = public.secmon_kafka,
    topic = 'website_logs',
    scan.startup.mode = 'earliest'
) FORMAT PLAIN ENCODE JSON