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
    {{ local_windows(relation, time_column, size) }}
{%- endmacro %}

{#- Hopping windows over `relation`: every row once per window of `size` that holds it, one window
    starting every `slide` (sizes in seconds, `size` a multiple of `slide`), as window_start and
    window_end. For spans shorter than the tumbling windows, such as a leaky bucket's burst. -#}
{% macro hop(relation, time_column, slide_seconds, size_seconds) -%}
    {%- if size_seconds % slide_seconds != 0 -%}
        {{ exceptions.raise_compiler_error("hop(): size " ~ size_seconds ~ " s is not a multiple of slide " ~ slide_seconds ~ " s") }}
    {%- endif -%}
    {{ return(adapter.dispatch('hop')(relation, time_column, slide_seconds, size_seconds)) }}
{%- endmacro %}

{% macro risingwave__hop(relation, time_column, slide_seconds, size_seconds) -%}
    HOP({{ relation }}, {{ time_column }}, INTERVAL '{{ slide_seconds }} seconds', INTERVAL '{{ size_seconds }} seconds')
{%- endmacro %}

{#- With var secmon_incremental, only the windows that overlap a pending minute, or for a window-close
    model (closes_windows()) those whose end lies within the refresh's bounds. -#}
{% macro postgres__hop(relation, time_column, slide_seconds, size_seconds) -%}
    {%- set slide = "INTERVAL '" ~ slide_seconds ~ " seconds'" -%}
    {%- set size = "INTERVAL '" ~ size_seconds ~ " seconds'" -%}
    {%- set start_of = "date_bin(" ~ slide ~ ", {}, TIMESTAMPTZ '1970-01-01 00:00:00+00')" -%}
    (
        select windowed.*, starts.window_start, starts.window_start + {{ size }} as window_end
        from {{ relation }} as windowed
        cross join lateral (
            select {{ start_of.format('windowed.' ~ time_column) }} - {{ slide }} * earlier
                as window_start
            from generate_series(0, {{ (size_seconds // slide_seconds) - 1 }}) as earlier
        ) as starts
        {%- if closes_windows() %}
        {#- The windows ending after windows_after() and at or before windows_until(): starting after
            the one and at or before the other, less the size. #}
        {%- set first_start = start_of.format(windows_after() ~ ' - ' ~ size) ~ ' + ' ~ slide %}
        {%- set last_start = "coalesce(" ~ start_of.format(windows_until() ~ ' - ' ~ size) ~ ", 'infinity')" %}
        where windowed.{{ time_column }} >= {{ first_start }}
          and windowed.{{ time_column }} < {{ last_start }} + {{ size }}
          and starts.window_start between {{ first_start }} and {{ last_start }}
        {%- elif var('secmon_incremental', false) %}
        where windowed.{{ time_column }} >= (select min(minute) from {{ pending_minutes() }}) - {{ size }}
          and windowed.{{ time_column }} < (select max(minute) from {{ pending_minutes() }}) + INTERVAL '1 minute' + {{ size }}
          and exists (
              select from {{ pending_minutes() }} as pending
              where pending.minute < starts.window_start + {{ size }}
                and pending.minute + INTERVAL '1 minute' > starts.window_start
          )
        {%- endif %}
    )
{%- endmacro %}

{#- For a model kept at the request grain (attack_requests): every row of `relation`. RisingWave
    streams each row through, with no state. On the local engine, with var secmon_incremental, only
    the rows landed since the last refresh (pending_rows(), by the landing table's landed_id, which
    the rows keep): a request-grain model's rows depend on their request alone, so the engine
    deletes and re-inserts just those, whatever the windows downstream. -#}
{% macro request_rows(relation) -%}
    {{ return(adapter.dispatch('request_rows')(relation)) }}
{%- endmacro %}

{% macro risingwave__request_rows(relation) -%}
    {{ relation }}
{%- endmacro %}

{% macro postgres__request_rows(relation) -%}
    {%- if var('secmon_incremental', false) -%}
    (select * from {{ relation }} where landed_id >= (select min(first_landed_id) from {{ pending_rows() }}))
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- Every row of `relation` with the bounds of its window of `size`, window_start and window_end.
    With var secmon_incremental (set by the local stream engine), only the windows that
    contain a pending minute are computed, or for a window-close model (closes_windows()) those
    whose end lies within the refresh's bounds: the engine deletes and re-inserts exactly those windows. -#}
{% macro local_windows(relation, time_column, size) -%}
    {%- set window_of = "date_bin(INTERVAL '" ~ size ~ "', {}, TIMESTAMPTZ '1970-01-01 00:00:00+00')" -%}
    (
        select
            windowed.*,
            {{ window_of.format('windowed.' ~ time_column) }} as window_start,
            {{ window_of.format('windowed.' ~ time_column) }} + INTERVAL '{{ size }}' as window_end
        from {{ relation }} as windowed
        {%- if closes_windows() %}
        where windowed.{{ time_column }} >= {{ window_of.format(windows_after()) }}
          and windowed.{{ time_column }} < coalesce({{ window_of.format(windows_until()) }}, 'infinity')
        {%- elif var('secmon_incremental', false) %}
        where windowed.{{ time_column }} >= (select min({{ window_of.format('minute') }}) from {{ pending_minutes() }})
          and windowed.{{ time_column }} < (select max({{ window_of.format('minute') }}) from {{ pending_minutes() }}) + INTERVAL '{{ size }}'
          and {{ window_of.format('windowed.' ~ time_column) }} in (select {{ window_of.format('minute') }} from {{ pending_minutes() }})
        {%- endif %}
    )
{%- endmacro %}
