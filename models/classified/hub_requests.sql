{#- One row per request and CrowdSec rule it matched (a virtual-patching or AppSec rule, or a trigger
    scenario: the classifier's `crowdsec:<rule>` tags, secmon/core/classify/crowdsec.py), with
    `signature`, the rule's name, and `bans`: false for a rule that the quality gate caught matching
    benign requests (its tag is `noban:crowdsec:<rule>`), which alerts without banning. -#}
with

requests as (
    select * from {{ request_rows(ref('website_requests')) }} as landed
    where tags is not null
),

request_tags as (
    select
        {{ request_columns() }}
        unnest(tags) as tag
    from requests
)

select
    {{ request_columns() }}
    substr(tag, length(case when starts_with(tag, 'noban:') then 'noban:crowdsec:' else 'crowdsec:' end) + 1) as signature,
    not starts_with(tag, 'noban:') as bans
from request_tags
where starts_with(tag, 'crowdsec:') or starts_with(tag, 'noban:crowdsec:')
