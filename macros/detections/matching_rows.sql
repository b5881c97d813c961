{#- The rows of `relation` whose `columns` (one name or a list, any of which may match) match a
    pattern list (see matches_any) and none of the `except_lists` (matched the same way). Several
    columns are one OR filter, never a union: on RisingWave a union splits the watermark into groups
    that an EMIT ON WINDOW CLOSE aggregation downstream refuses. RisingWave filters each row as it
    streams in. The local engine recomputes whole windows, so it matches each distinct value once and
    keeps the rows whose value matched: values repeat far more than patterns do. -#}
{% macro matching_rows(relation, columns, list_name, how='contains', except_lists=[]) -%}
    {%- set columns = [columns] if columns is string else columns -%}
    {{ return(adapter.dispatch('matching_rows')(relation, columns, list_name, how, except_lists)) }}
{%- endmacro %}

{% macro matches_list_only(expression, list_name, how, except_lists, already_upper=false) -%}
    {{ matches_any(expression, list_name, how, already_upper) }}
    {%- for excluded in except_lists %}
    and not {{ matches_any(expression, excluded, how, already_upper) }}
    {%- endfor %}
{%- endmacro %}

{#- Case-insensitive lists compare with each column upper-cased once per row (`<column>__upper`), not
    once per pattern: the lists hold hundreds of patterns, and RisingWave evaluates each call. -#}
{% macro risingwave__matching_rows(relation, columns, list_name, how, except_lists) -%}
    {%- set upper = how == 'contains_ci' -%}
    select * from (
        select
            {{ relation }}.*
            {%- if upper %}
            {%- for column in columns %},
            upper({{ column }}) as {{ column }}__upper
            {%- endfor %}
            {%- endif %}
        from {{ relation }}
    ) as normalised
    where
    {%- for column in columns %}
        {% if not loop.first %}or {% endif -%}
        ({{ matches_list_only(column ~ '__upper' if upper else column, list_name, how, except_lists, upper) }})
    {%- endfor %}
{%- endmacro %}

{% macro postgres__matching_rows(relation, columns, list_name, how, except_lists) -%}
    select {{ relation }}.*
    from {{ relation }}
    where
    {%- for column in columns %}
        {% if not loop.first %}or {% endif %}{{ relation }}.{{ column }} in (
            select distinct_values.value
            {#- OFFSET 0 keeps PostgreSQL from pushing the pattern filter below the DISTINCT. #}
            from (select distinct {{ column }} as value from {{ relation }} offset 0) as distinct_values
            where {{ matches_list_only('distinct_values.value', list_name, how, except_lists) }}
        )
    {%- endfor %}
{%- endmacro %}
