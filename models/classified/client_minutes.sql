{#- The per-minute pre-aggregate of clients: one row per address, user agent and minute with its
    request count. The agent detections read it, so that a 5-minute window sums five rows per
    client instead of re-reading its requests, and an agent is matched against the pattern lists
    once per client and minute, not once per request. Distinct agents stay countable: the agent is
    part of the grain. -#}
with

requests as (
    select * from {{ minute_buckets(ref('website_requests'), 'request_timestamp') }} as bucketed
)

select
    ip_address,
    user_agent,
    count(*) as requests,
    bucket_start,
    bucket_end
from requests
group by ip_address, user_agent, bucket_start, bucket_end
{{ emit_on_window_close() }}
