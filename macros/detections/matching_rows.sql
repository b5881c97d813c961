{#- The rows of `relation` whose `column` matches a CrowdSec list (see matches_any).
    RisingWave filters each row as it streams in. The local engine recomputes whole windows, so it
    matches each distinct value once and joins back: values repeat far more than patterns do. -#}
{% macro matching_rows(relation, column, list_name, how='contains') -%}
    {{ return(adapter.dispatch('matching_rows')(relation, column, list_name, how)) }}
{%- endmacro %}

{% macro risingwave__matching_rows(relation, column, list_name, how) -%}
    select * from {{ relation }}
    where {{ matches_any(column, list_name, how) }}
{%- endmacro %}

{% macro postgres__matching_rows(relation, column, list_name, how) -%}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select distinct_values.value
        {#- OFFSET 0 keeps PostgreSQL from pushing the pattern filter below the DISTINCT. #}
        from (select distinct {{ column }} as value from {{ relation }} offset 0) as distinct_values
        where {{ matches_any('distinct_values.value', list_name, how) }}
    ) as matched on matched.value = {{ relation }}.{{ column }}
{%- endmacro %}
