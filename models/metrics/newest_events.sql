{#- The raw-events panel reads this, not the requests: a query on a Kafka source reads the whole topic,
    since a time filter on an event column is not pushed down to Kafka. -#}
{{ config(materialized=('materialized_view' if target.type == 'risingwave' else 'view')) }}
select
    request_timestamp,
    ip_address,
    username,
    http_method,
    url,
    status_code,
    response_time,
    referrer,
    user_action,
    security_level
from {{ ref('website_requests') }}
{{ keep_newest('request_timestamp', 100) }}
