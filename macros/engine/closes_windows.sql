{#- Whether the model being compiled is one the local engine computes once per window, when the
    watermark passes the window's end, as RisingWave's EMIT ON WINDOW CLOSE does: the stream engine
    names them in var secmon_window_close_models (the models that call emit_on_window_close()). -#}
{% macro closes_windows() -%}
    {{ return(var('secmon_incremental', false) and model.name in var('secmon_window_close_models', [])) }}
{%- endmacro %}
