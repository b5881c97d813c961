{#- The DDL of the stream source: `columns` is an ordered mapping of column name to SQL type.
    RisingWave: a Kafka SOURCE (run by dbt-risingwave's `source` materialization).
    PostgreSQL: a landing table with ingest metadata (run by this project's `create_if_missing`
    materialization). -#}
{% macro stream_source(columns, topic, watermark_column) -%}
    {{ return(adapter.dispatch('stream_source')(columns, topic, watermark_column)) }}
{%- endmacro %}

{#- The watermark is the running maximum of its expression over every row, it never moves back, and
    rows below it are dropped before any view (RisingWave's WatermarkFilterExecutor); NULL values of
    the expression are skipped. So an event dated beyond the ingest clock (proctime) plus the
    tolerance gives NULL: it cannot move the watermark and close every window early. -#}
{% macro risingwave__stream_source(columns, topic, watermark_column) -%}
CREATE SOURCE IF NOT EXISTS {{ this }} (
{%- for name, type in columns.items() %}
    {{ name }} {{ type | upper }},
{%- endfor %}
    ingested_at TIMESTAMPTZ AS proctime(),
    WATERMARK FOR {{ watermark_column }} AS CASE
        WHEN {{ watermark_column }} <= ingested_at + {{ watermark_interval('future_timestamp_tolerance') }}
        THEN {{ watermark_column }} - {{ watermark_interval('watermark_delay') }}
    END
) WITH (
    {{- with_properties(kafka_with(topic, {'scan.startup.mode': var('kafka_startup_mode')})) }}
) FORMAT PLAIN ENCODE JSON
{%- endmacro %}

{#- The landing table the models read, with its columns: a column added since the table was made
    (tags, landed_id) is added by ALTER. landed_id is the order rows landed in, so that the
    request-grain models read only the rows landed since their last refresh (request_rows()); the view
    over this table (website_requests) is built in the same run, so the column is made here. The local
    engine's own tables and this table's indexes are secmon/engine/state.py's. -#}
{% macro postgres__stream_source(columns, topic, watermark_column) -%}
create table if not exists {{ this }} (
{%- for name, type in columns.items() %}
    {{ name }} {{ type }},
{%- endfor %}
    kafka_partition integer not null,
    kafka_offset bigint not null,
    ingested_at timestamptz not null default now(),
    landed_id bigint generated always as identity
);
{%- for name, type in columns.items() %}
alter table {{ this }} add column if not exists {{ name }} {{ type }};
{%- endfor %}
alter table {{ this }} add column if not exists landed_id bigint generated always as identity
{%- endmacro %}
