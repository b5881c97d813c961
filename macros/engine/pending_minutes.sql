{#- The minutes that received events since the local engine last refreshed the views: written by
    the ingester in the same transaction as the events, emptied once every view is refreshed. -#}
{% macro pending_minutes() -%}
    {{ api.Relation.create(database=target.database, schema=target.schema, identifier=var('local_pending_minutes_table')) }}
{%- endmacro %}

{#- The first landed_id of each ingest batch whose rows the request-grain models (request_rows()) have
    not read yet: written by the ingester in the same transaction as the rows, emptied with the
    pending minutes. -#}
{% macro pending_rows() -%}
    {{ api.Relation.create(database=target.database, schema=target.schema, identifier=var('local_pending_rows_table')) }}
{%- endmacro %}

{#- The window-close models' progress (one row): every window ending at or before emitted_until is
    final in their tables; the watermark is the newest the engine has seen. Written by the stream engine. -#}
{% macro window_close() -%}
    {{ api.Relation.create(database=target.database, schema=target.schema, identifier=var('local_window_close_table')) }}
{%- endmacro %}

{#- Whether the model being compiled is one the local engine computes once per window, when the
    watermark passes the window's end, as RisingWave's EMIT ON WINDOW CLOSE does: the stream engine
    names them in var secmon_window_close_models (the models that call emit_on_window_close()). -#}
{% macro closes_windows() -%}
    {{ return(var('secmon_incremental', false) and model.name in var('secmon_window_close_models', [])) }}
{%- endmacro %}

{#- The bounds of the windows a window-close model's refresh computes, as the engine sets them for
    the refresh's transaction: windows ending after windows_after() and at or before windows_until(),
    'infinity' when the open windows are computed too. -#}
{% macro windows_after() -%}
    current_setting('{{ var('local_window_settings')['after'] }}')::timestamptz
{%- endmacro %}

{% macro windows_until() -%}
    nullif(current_setting('{{ var('local_window_settings')['until'] }}'), '')::timestamptz
{%- endmacro %}
