{#- The rows of `relation` (requests) that match a CrowdSec hub signature (hub_signatures, from
    seeds/crowdsec_hub_signatures.csv), each with `signature`: the rule's name and CVE. All of them
    in one CASE, however many there are: a new hub release is a regenerated seed, no new model.
    The conditions read url, decoded_url, http_method, status_code and user_agent. -#}
{% macro hub_matches(relation) -%}
    {{ return(adapter.dispatch('hub_matches')(relation)) }}
{%- endmacro %}

{#- The first signature a request matches, of those that read `only` ('url': the URL and method,
    'response': the status or the agent too), or of all. -#}
{% macro hub_signature_case(only='all') -%}
    case
    {%- for name, cve, condition in hub_signatures() %}
    {%- set reads_response = 'status_code' in condition or 'user_agent' in condition %}
    {%- if only == 'all' or (only == 'response') == reads_response %}
        when {{ condition }} then '{{ (name ~ (' ' ~ cve if cve else '')) | replace("'", "''") }}'
    {%- endif %}
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

{#- The local engine reads a batch of rows at a time: the signatures on the URL and method are
    matched once per distinct (url, method) of the batch; the few that read the status or the
    agent, per request. -#}
{% macro postgres__hub_matches(relation) -%}
    select * from (
        select joined.*, coalesce(joined.url_signature, {{ hub_signature_case('response') }}) as signature
        from (
            select {{ relation }}.*, keyed.decoded_url, keyed.url_signature
            from {{ relation }}
            inner join (
                select url_keys.*, {{ hub_signature_case('url') }} as url_signature
                from (
                    select distinct_keys.*, decoded.decoded as decoded_url
                    {#- OFFSET 0 keeps PostgreSQL from flattening the DISTINCT into the join. #}
                    from (select distinct url, http_method from {{ relation }} offset 0) as distinct_keys
                    inner join ({{ decoded_values('select distinct url as value from ' ~ relation ~ ' offset 0') }}) as decoded
                        on decoded.value = distinct_keys.url
                ) as url_keys
                {#- OFFSET 0 again: flattened, the CASE would run once per request, not once per key. #}
                offset 0
            ) as keyed on keyed.url = {{ relation }}.url and keyed.http_method = {{ relation }}.http_method
        ) as joined
    ) as matched
    where signature is not null
{%- endmacro %}
