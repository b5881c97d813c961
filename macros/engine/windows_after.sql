{#- The lower bound of the windows a window-close model's refresh computes, as the engine sets it for
    the refresh's transaction: windows ending after windows_after() and at or before windows_until(). -#}
{% macro windows_after() -%}
    current_setting('{{ var('local_window_settings')['after'] }}')::timestamptz
{%- endmacro %}
