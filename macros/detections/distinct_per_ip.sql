{#- The body of a per-IP detection: one row per IP per window whose rows in `relation` hold at
    least `min_distinct` distinct values of `column`, with the request count and an example. Over a
    pre-aggregate (client_minutes), `count_column` holds each row's requests, and they are summed. -#}
{% macro distinct_per_ip(relation, column, min_distinct, count_column=none) -%}
    select
        ip_address,
        {% if count_column %}sum({{ count_column }}){% else %}count(*){% endif %} as requests,
        count(distinct {{ column }}) as distinct_values,
        max({{ column }}) as example,
        window_start,
        window_end
    from {{ relation }}
    group by ip_address, window_start, window_end
    having count(distinct {{ column }}) >= {{ min_distinct }}
{%- endmacro %}
