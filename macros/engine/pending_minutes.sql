{#- The minutes that received events since the local engine last refreshed the views: written by
    the ingester in the same transaction as the events, emptied once every view is refreshed. -#}
{% macro pending_minutes() -%}
    {{ api.Relation.create(database=target.database, schema=target.schema, identifier=var('local_pending_minutes_table')) }}
{%- endmacro %}
