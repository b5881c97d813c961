{#- Post-hook of every detection: its rows into security_alerts. On RisingWave a sink into the
    table, the documented way to union many streams into one table, each sink added or dropped on
    its own (docs.risingwave.com/sql/commands/sql-create-sink-into); on PostgreSQL a copy of the
    rows, which the local engine then keeps in step window by window. Append-only, as the table is:
    RisingWave refuses any other sink into an append-only table (src/frontend/src/optimizer/
    plan_node/stream_sink.rs, "Only append-only sinks can sink to a append only table"). -#}
{% macro sink_into_alerts() -%}
    {{ return(adapter.dispatch('sink_into_alerts')()) }}
{%- endmacro %}

{% macro risingwave__sink_into_alerts() -%}
    create sink if not exists {{ this.schema }}.{{ this.identifier }}__into_alerts
    into {{ ref('security_alerts') }} from {{ this }}
    with (type = 'append-only')
{%- endmacro %}

{#- A later window of the same quiet period repeats an alert_id (alert_columns): the first is kept, as
    RisingWave's ON CONFLICT DO NOTHING keeps it. -#}
{% macro postgres__sink_into_alerts() -%}
    delete from {{ ref('security_alerts') }} where detection = '{{ this.identifier }}';
    insert into {{ ref('security_alerts') }} select * from {{ this }} order by window_start on conflict do nothing
{%- endmacro %}
