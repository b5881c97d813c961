{#- True when a request is of `family`: its decoded URL (`decoded`, from url_decoded) matches the
    family's expressions, or its raw URL one of the family's CrowdSec keywords. -#}
{% macro is_family(decoded, raw, family) -%}
    {%- set keywords = family_keyword_list(family) -%}
    ({{ decoded }} ~ '{{ family_regex(family) | replace("'", "''") }}'
    {%- if keywords %} or {{ matches_any(raw, keywords, 'contains_ci') }}{% endif %})
{%- endmacro %}

{#- How serious a server's answer to a payload is: 3 a 5xx (the payload reached the code), 2 a 2xx
    (served), 1 a redirect, 0 refused (4xx). -#}
{% macro answered_rank(status) -%}
    case when {{ status }} >= 500 then 3 when {{ status }} < 300 then 2 when {{ status }} < 400 then 1 else 0 end
{%- endmacro %}

{#- The requests of `relation` that are of at least one attack family: the columns the detections
    read, the decoded URL, and one is_<family> column per family (the attack_requests model). On the
    local engine also landed_id (request_rows()). RisingWave classifies each row as it streams in,
    decoding its URL once; the local engine reads a batch of rows at a time, so it classifies each
    distinct URL once and joins back (as flagged_requests does). -#}
{% macro classified_requests(relation) -%}
    {{ return(adapter.dispatch('classified_requests')(relation)) }}
{%- endmacro %}

{% macro classified_columns() -%}
    {{ return(['request_timestamp', 'ip_address', 'url', 'http_method', 'status_code', 'user_agent']) }}
{%- endmacro %}

{% macro family_columns(decoded, raw) -%}
    {%- for family in attack_families() %}
    {{ is_family(decoded, raw, family) }} as is_{{ family }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro any_family() -%}
    ({% for family in attack_families() %}is_{{ family }}{% if not loop.last %} or {% endif %}{% endfor %})
{%- endmacro %}

{% macro risingwave__classified_requests(relation) -%}
    select * from (
        select
            {%- for column in classified_columns() %}
            decoded.{{ column }},
            {%- endfor %}
            decoded.{{ decoded_url() }} as decoded_url,
            {{- family_columns('decoded.' ~ decoded_url(), 'decoded.url') }}
        from {{ with_decoded_url(relation, 'url') }} as decoded
    ) as classified
    where {{ any_family() }}
{%- endmacro %}

{% macro postgres__classified_requests(relation) -%}
    select
        {%- for column in classified_columns() + ['landed_id'] %}
        {{ relation }}.{{ column }},
        {%- endfor %}
        classified_urls.decoded as decoded_url,
        {% for family in attack_families() %}classified_urls.is_{{ family }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ relation }}
    inner join (
        select * from (
            select decoded.value, decoded.decoded, {{ family_columns('decoded.decoded', 'decoded.value') }}
            {#- OFFSET 0 keeps PostgreSQL from flattening the DISTINCT into the join. #}
            from ({{ decoded_values('select distinct url as value from ' ~ relation ~ ' offset 0') }}) as decoded
            {#- OFFSET 0 again: flattened, the family expressions would run once per request after the join. #}
            offset 0
        ) as classified
        where {{ any_family() }}
    ) as classified_urls on classified_urls.value = {{ relation }}.url
{%- endmacro %}
