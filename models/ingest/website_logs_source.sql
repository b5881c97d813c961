{#- Column types follow producer/event.schema.json (x-sql-type); a test keeps them equal.
    request_timestamp is TIMESTAMPTZ, not the seed's TIMESTAMP: RisingWave's JSON parser turns a
    timestamp ending in `Z` into NULL for a TIMESTAMP column. -#}
{{ stream_source(
    columns={
        'request_timestamp': 'timestamptz',
        'ip_address': 'varchar',
        'user_agent': 'text',
        'url': 'text',
        'http_method': 'varchar',
        'status_code': 'integer',
        'response_time': 'integer',
        'referrer': 'text',
        'user_id': 'varchar',
        'username': 'varchar',
        'user_action': 'varchar',
        'security_level': 'varchar',
        'tags': 'varchar[]',
    },
    topic=var('events_topic'),
    watermark_column='request_timestamp',
) }}
