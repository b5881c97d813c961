{#- The upper bound of the windows a window-close model's refresh computes (see windows_after()):
    NULL when the engine sets it empty, and the open windows are computed too (callers read it as
    'infinity'). -#}
{% macro windows_until() -%}
    nullif(current_setting('{{ var('local_window_settings')['until'] }}'), '')::timestamptz
{%- endmacro %}
