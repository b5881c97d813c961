{#- The DDL of the stream source: `columns` is an ordered mapping of column name to SQL type.
    RisingWave: a Kafka SOURCE (run by dbt-risingwave's `source` materialization).
    PostgreSQL: a landing table with ingest metadata, the consumed offsets, the rejects table, the
    minutes whose windows wait for a refresh and the rows that the request-grain models have not
    read yet (run by this project's `create_if_missing` materialization). -#}
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
{#- A column added to the event since the table was made (tags) is added here. -#}
{%- for name, type in columns.items() %}
alter table {{ this }} add column if not exists {{ name }} {{ type }};
{%- endfor %}
{#- landed_id: the order rows landed in, so that the request-grain models read only the rows landed
    since their last refresh (request_rows()). Added by ALTER for tables made before it existed. -#}
alter table {{ this }} add column if not exists landed_id bigint generated always as identity;
{#- The stream engine reads one window's events by time range, and the new rows by landed_id; BRIN
    suits append-mostly data. The engine summarizes new page ranges before each refresh
    (unsummarized ranges always match). -#}
create index if not exists {{ this.identifier }}__time on {{ this }} using brin ({{ watermark_column }}) with (pages_per_range = 32);
create index if not exists {{ this.identifier }}__landed on {{ this }} using brin (landed_id) with (pages_per_range = 32);
{#- cluster_id: the offsets are positions in that cluster's log; an in-memory broker restarted
    under a new id starts an empty log, which is read from its beginning. Added by ALTER for tables
    made before it existed. -#}
create table if not exists {{ this.incorporate(path={"identifier": var('local_offsets_table')}) }} (
    topic text not null,
    kafka_partition integer not null,
    next_offset bigint not null,
    cluster_id text,
    primary key (topic, kafka_partition)
);
alter table {{ this.incorporate(path={"identifier": var('local_offsets_table')}) }} add column if not exists cluster_id text;
create table if not exists {{ pending_minutes() }} (
    minute timestamptz primary key
);
create table if not exists {{ pending_rows() }} (
    first_landed_id bigint primary key
);
create table if not exists {{ window_close() }} (
    only_row boolean primary key default true check (only_row),
    emitted_until timestamptz not null,
    watermark timestamptz not null
);
create table if not exists {{ this.incorporate(path={"identifier": var('local_rejects_table')}) }} (
    topic text not null,
    kafka_partition integer not null,
    kafka_offset bigint not null,
    raw_value bytea,
    reason text not null,
    rejected_at timestamptz not null default now()
)
{%- endmacro %}
