{#- Every request of at least one attack family, with one is_<family> column per family: the
    classifier tagged it `family:<family>` where its line was read (OWASP CRS, libinjection and the
    family seeds, secmon/core/classify). The family detections and web_attack read it. A family
    matched by a file's name alone (var name_only_families) counts only when the site did not serve
    the file (not_served): answered 2xx it is the site's own content. -#}
with

requests as (
    select * from {{ request_rows(ref('website_requests')) }} as landed
    where {{ has_any_tag(tags_of('family', attack_families())) }}
),

classified as (
    select
        {{ request_columns() }}
        {%- for family in attack_families() %}
        {{ has_tag('family:' ~ family) }}{% if family in var('name_only_families') %} and {{ not_served() }}{% endif %}
            as is_{{ family }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from requests
)

{#- A request whose only families are names the site served is its own content: no row. #}
select * from classified
where {% for family in attack_families() %}is_{{ family }}{% if not loop.last %} or {% endif %}{% endfor %}
