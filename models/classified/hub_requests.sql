{#- Every request that matches a CrowdSec hub signature, with the signature: matched once, as the
    requests come (RisingWave) or batch by batch (the local engine), so that crowdsec_exploit's
    5-minute windows read the few matches instead of matching every request of the window again. -#}
with

requests as (
    select * from {{ request_rows(ref('website_requests')) }} as landed
)

{{ hub_matches('requests') }}
