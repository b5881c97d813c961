{#- RisingWave: emit each window's row once, when the source's watermark passes the window's end
    (final evidence, one alert per window on the sink). Needs the source's WATERMARK. The local
    stream engine does the same for every model that calls it (closes_windows()): it computes each
    window once, when closed, so a detection costs nothing while its windows are open. A plain
    `dbt build` on the local target computes every window, open or closed. -#}
{% macro emit_on_window_close() -%}
    {{ return(adapter.dispatch('emit_on_window_close')()) }}
{%- endmacro %}

{% macro risingwave__emit_on_window_close() -%}
EMIT ON WINDOW CLOSE
{%- endmacro %}

{% macro postgres__emit_on_window_close() -%}
{%- endmacro %}
