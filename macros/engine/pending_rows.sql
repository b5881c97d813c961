{#- The first landed_id of each ingest batch whose rows the request-grain models (request_rows()) have
    not read yet: written by the ingester in the same transaction as the rows, emptied with the
    pending minutes. -#}
{% macro pending_rows() -%}
    {{ api.Relation.create(database=target.database, schema=target.schema, identifier=var('local_pending_rows_table')) }}
{%- endmacro %}
