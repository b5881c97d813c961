{#- RisingWave: emit each window's row once, when the source's watermark passes the window's end
    (final evidence, one alert per window on the sink). Needs the source's WATERMARK. The local
    engine has no such mode: its tables always show the windows as they are. -#}
{% macro emit_on_window_close() -%}
    {{ return(adapter.dispatch('emit_on_window_close')()) }}
{%- endmacro %}

{% macro risingwave__emit_on_window_close() -%}
EMIT ON WINDOW CLOSE
{%- endmacro %}

{% macro postgres__emit_on_window_close() -%}
{%- endmacro %}
