{#- CrowdSec's leaky buckets (hub_buckets(): the requests the classifier tagged `bucket:<name>`) over hopping windows of
    `span_seconds`: one row per IP and window in which at least one bucket overflowed.

    A bucket of capacity C leaking one request every L seconds holds at most C + s/L of the requests
    poured in any s seconds, so more than that many within one window certainly overflowed it: the
    threshold is floor(C + span/L) + 1. Nothing fires that the real bucket would not; a burst shorter
    than span - slide lies whole in one window; slower overflows are the long-window detections'.
    One burst, one alert: a window fires only if its requests before its last slide, which the window
    before also holds, stayed below the threshold. The earliest window past the threshold always
    fires (the one before it held fewer), and a sustained flood alerts once, when it starts.
    Each bucket counts its requests with an aggregate FILTER, so that a request fills every bucket it
    matches and the row stays one per IP and window (the alert's grain). -#}
{% macro bucket_overflows(relation, span_seconds, slide_seconds) -%}
    {%- set buckets = hub_buckets() -%}
    select * from (
        select
            ip_address,
            count(*) as requests,
            max(http_method || ' ' || url) as example_request,
            concat_ws(','
            {%- for name, distinct, capacity, leak_seconds in buckets %}
                {%- set condition = has_tag('bucket:' ~ name) %}
                {%- set threshold = bucket_threshold(capacity, leak_seconds, span_seconds) %}
                , case when {{ bucket_poured(condition, distinct) }} >= {{ threshold }}
                    and {{ bucket_poured(condition ~ " and request_timestamp < window_end - INTERVAL '" ~ slide_seconds ~ " seconds'", distinct) }} < {{ threshold }}
                  then '{{ name }}' end
            {%- endfor %}
            ) as overflowed,
            window_start,
            window_end
        from {{ relation }} as poured
        where
        {%- for name, distinct, capacity, leak_seconds in buckets %}
            {% if not loop.first %}or {% endif %}{{ has_tag('bucket:' ~ name) }}
        {%- endfor %}
        group by window_start, window_end, ip_address
    ) as per_ip
    where overflowed <> ''
{%- endmacro %}

{#- The requests a bucket holds: each one matching its condition, or with `distinct` each distinct value. -#}
{% macro bucket_poured(condition, distinct) -%}
    {%- if distinct -%}
    count(distinct {{ distinct }}) filter (where {{ condition }})
    {%- else -%}
    count(*) filter (where {{ condition }})
    {%- endif -%}
{%- endmacro %}

{% macro bucket_threshold(capacity, leak_seconds, span_seconds) -%}
    {{ (capacity + span_seconds / leak_seconds) | int + 1 }}
{%- endmacro %}
