{#- The rows of `relation` (requests) that match a CrowdSec hub signature (hub_signatures, from
    seeds/crowdsec_hub_signatures.csv), each with `signature`: the rule's name and CVE. All of them
    in one CASE, however many there are: a new hub release is a regenerated seed, no new model.
    The conditions read url, decoded_url, http_method, status_code and user_agent. -#}
{% macro hub_matches(relation) -%}
    {{ return(adapter.dispatch('hub_matches')(relation)) }}
{%- endmacro %}

{% macro hub_signature_case() -%}
    case
    {%- for name, cve, condition in hub_signatures() %}
        when {{ condition }} then '{{ (name ~ (' ' ~ cve if cve else '')) | replace("'", "''") }}'
    {%- endfor %}
    end
{%- endmacro %}

{#- RisingWave matches each request as it streams in. -#}
{% macro risingwave__hub_matches(relation) -%}
    select * from (
        select requests.*, {{ hub_signature_case() }} as signature
        from (
            select layers.*, layers.{{ decoded_url() }} as decoded_url
            from {{ with_decoded_url(relation, 'url') }} as layers
        ) as requests
    ) as matched
    where signature is not null
{%- endmacro %}

{#- The local engine recomputes whole windows: each distinct (url, method, status, agent) is matched
    once and joined back. -#}
{% macro postgres__hub_matches(relation) -%}
    select {{ relation }}.*, matched.signature
    from {{ relation }}
    inner join (
        select request_keys.*, {{ hub_signature_case() }} as signature
        from (
            select distinct_keys.*, decoded.decoded as decoded_url
            {#- OFFSET 0 keeps PostgreSQL from flattening the DISTINCT into the join. #}
            from (select distinct url, http_method, status_code, user_agent from {{ relation }} offset 0) as distinct_keys
            inner join ({{ decoded_values('select distinct url as value from ' ~ relation ~ ' offset 0') }}) as decoded
                on decoded.value = distinct_keys.url
        ) as request_keys
    ) as matched
        on matched.url = {{ relation }}.url and matched.http_method = {{ relation }}.http_method
        and matched.status_code = {{ relation }}.status_code
        and matched.user_agent is not distinct from {{ relation }}.user_agent
    where matched.signature is not null
{%- endmacro %}
