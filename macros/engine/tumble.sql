{#- Tumbling windows over `relation`: every row plus window_start and window_end.
    RisingWave has the TUMBLE table function; PostgreSQL gets the same columns from date_bin,
    aligned to the epoch as TUMBLE is. Use as `from {{ tumble(...) }} as events`. -#}
{% macro tumble(relation, time_column, size) -%}
    {{ return(adapter.dispatch('tumble')(relation, time_column, size)) }}
{%- endmacro %}

{#- Defined explicitly: without it, dispatch on the risingwave adapter falls back to postgres__tumble. -#}
{% macro risingwave__tumble(relation, time_column, size) -%}
    TUMBLE({{ relation }}, {{ time_column }}, INTERVAL '{{ size }}')
{%- endmacro %}

{% macro postgres__tumble(relation, time_column, size) -%}
    (
        select
            windowed.*,
            date_bin(INTERVAL '{{ size }}', windowed.{{ time_column }}, TIMESTAMPTZ '1970-01-01 00:00:00+00') as window_start,
            date_bin(INTERVAL '{{ size }}', windowed.{{ time_column }}, TIMESTAMPTZ '1970-01-01 00:00:00+00')
                + INTERVAL '{{ size }}' as window_end
        from {{ relation }} as windowed
    )
{%- endmacro %}
