{#- The rows of `relation` (requests) that raise at least one of `flags`: its `columns` and one
    is_<flag> column per flag. A flag's condition reads the request's own columns (status, method,
    user) and its tags (has_tag), so it costs a few comparisons a row on either engine. On the local
    engine the rows keep landed_id (request_rows()). -#}
{% macro flagged_requests(relation, columns, flags) -%}
    select * from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            {%- if target.type != 'risingwave' %}
            landed_id,
            {%- endif %}
            {%- for name, condition in flags.items() %}
            ({{ condition }}) as is_{{ name }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ relation }}
    ) as flagged
    where {% for name in flags %}is_{{ name }}{% if not loop.last %} or {% endif %}{% endfor %}
{%- endmacro %}
