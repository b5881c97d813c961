{#- The body of a per-IP detection: one row per IP per window whose rows in `relation` hold at
    least `min_distinct` distinct values of `column`, with the request count and an example. -#}
{% macro distinct_per_ip(relation, column, min_distinct) -%}
    select
        ip_address,
        count(*) as requests,
        count(distinct {{ column }}) as distinct_values,
        max({{ column }}) as example,
        window_start,
        window_end
    from {{ relation }}
    group by window_start, window_end, ip_address
    having count(distinct {{ column }}) >= {{ min_distinct }}
{%- endmacro %}
