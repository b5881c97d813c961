{#- The rows of `relation` whose `column` matches a pattern list (see matches_any) and none of the
    `except_lists` (matched the same way), or with how='family' whose URL `column` is of the attack
    family `list_name` once decoded (is_family). RisingWave filters each row as it streams in. The local
    engine recomputes whole windows, so it matches each distinct value once and joins back: values
    repeat far more than patterns do. -#}
{% macro matching_rows(relation, column, list_name, how='contains', except_lists=[]) -%}
    {{ return(adapter.dispatch('matching_rows')(relation, column, list_name, how, except_lists)) }}
{%- endmacro %}

{% macro matches_list_only(expression, list_name, how, except_lists) -%}
    {{ matches_any(expression, list_name, how) }}
    {%- for excluded in except_lists %}
    and not {{ matches_any(expression, excluded, how) }}
    {%- endfor %}
{%- endmacro %}

{% macro risingwave__matching_rows(relation, column, list_name, how, except_lists) -%}
    {%- if how == 'family' -%}
    select * from {{ with_decoded_url(relation, column) }} as decoded
    where {{ is_family('decoded.' ~ decoded_url(), 'decoded.' ~ column, list_name) }}
    {%- else -%}
    select * from {{ relation }}
    where {{ matches_list_only(column, list_name, how, except_lists) }}
    {%- endif -%}
{%- endmacro %}

{% macro postgres__matching_rows(relation, column, list_name, how, except_lists) -%}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select distinct_values.value
        {#- OFFSET 0 keeps PostgreSQL from pushing the pattern filter below the DISTINCT. #}
        {%- if how == 'family' %}
        from ({{ decoded_values('select distinct ' ~ column ~ ' as value from ' ~ relation ~ ' offset 0') }})
            as distinct_values
        where {{ is_family('distinct_values.decoded', 'distinct_values.value', list_name) }}
        {%- else %}
        from (select distinct {{ column }} as value from {{ relation }} offset 0) as distinct_values
        where {{ matches_list_only('distinct_values.value', list_name, how, except_lists) }}
        {%- endif %}
    ) as matched on matched.value = {{ relation }}.{{ column }}
{%- endmacro %}
