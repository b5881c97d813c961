{#- Every request of at least one attack family, classified once: the family detections and
    web_attack read it, and none of them matches a raw URL again. -#}
with

requests as (
    select * from {{ request_rows(ref('website_requests')) }} as landed
)

{{ classified_requests('requests') }}
