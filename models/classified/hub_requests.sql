{#- Every request that matches a CrowdSec hub signature, with the signature: matched once, as the
    requests come (RisingWave) or minute by minute (the local engine), so that crowdsec_exploit's
    5-minute windows read the few matches instead of matching every request of the window again. -#}
with

requests as (
    select * from {{ request_buckets(ref('website_requests'), 'request_timestamp') }} as bucketed
)

{{ hub_matches('requests') }}
