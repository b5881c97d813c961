{#- The window-close models' progress (one row): every window ending at or before emitted_until is
    final in their tables; the watermark is the newest the engine has seen. Written by the stream engine. -#}
{% macro window_close() -%}
    {{ api.Relation.create(database=target.database, schema=target.schema, identifier=var('local_window_close_table')) }}
{%- endmacro %}
