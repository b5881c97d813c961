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

{#- With var secmon_incremental (set by the local stream engine), only the windows that contain a
    pending minute are computed: the engine deletes and re-inserts exactly those windows. -#}
{% macro postgres__tumble(relation, time_column, size) -%}
    {%- set window_of = "date_bin(INTERVAL '" ~ size ~ "', {}, TIMESTAMPTZ '1970-01-01 00:00:00+00')" -%}
    (
        select
            windowed.*,
            {{ window_of.format('windowed.' ~ time_column) }} as window_start,
            {{ window_of.format('windowed.' ~ time_column) }} + INTERVAL '{{ size }}' as window_end
        from {{ relation }} as windowed
        {%- if var('secmon_incremental', false) %}
        where windowed.{{ time_column }} >= (select min({{ window_of.format('minute') }}) from {{ pending_minutes() }})
          and windowed.{{ time_column }} < (select max({{ window_of.format('minute') }}) from {{ pending_minutes() }}) + INTERVAL '{{ size }}'
          and {{ window_of.format('windowed.' ~ time_column) }} in (select {{ window_of.format('minute') }} from {{ pending_minutes() }})
        {%- endif %}
    )
{%- endmacro %}
