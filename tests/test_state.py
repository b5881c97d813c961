"""The engine's own tables (secmon/engine/state.py): made on a new schema, migrated in place on one
made by the old stream_source macro, each step run once when two processes start together."""

from __future__ import annotations

import threading

import psycopg2
import pytest

from secmon import settings
from secmon.engine import state
from secmon.engine.ingest import ensure_landing_table, tables_are_current
from secmon.errors import SecmonError

# What the old postgres__stream_source made, before the event's tags, the landing table's landed_id
# and the offsets' cluster_id, and before the pending rows and window-close tables existed.
OLD_DDL = """
create table {schema}.website_logs_source (
    request_timestamp timestamptz, ip_address varchar, user_agent text, url text, http_method varchar,
    status_code integer, response_time integer, referrer text, user_id varchar, username varchar,
    user_action varchar, security_level varchar,
    kafka_partition integer not null, kafka_offset bigint not null, ingested_at timestamptz not null default now()
);
create index website_logs_source__time on {schema}.website_logs_source using brin (request_timestamp);
create table {schema}.website_logs_source_offsets (
    topic text not null, kafka_partition integer not null, next_offset bigint not null,
    primary key (topic, kafka_partition)
);
create table {schema}.website_logs_source_pending_minutes (minute timestamptz primary key);
create table {schema}.website_logs_source_rejects (
    topic text not null, kafka_partition integer not null, kafka_offset bigint not null,
    raw_value bytea, reason text not null, rejected_at timestamptz not null default now()
);
insert into {schema}.website_logs_source (request_timestamp, ip_address, url, http_method, status_code,
    user_action, security_level, kafka_partition, kafka_offset)
values ('2024-01-25T12:00:00Z', '192.0.2.1', '/', 'GET', 200, 'view_page', 'low', 0, 41);
insert into {schema}.website_logs_source_offsets values ('website_logs', 0, 42);
"""


def query(endpoints, statement: str, *args) -> list[tuple]:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(statement, args)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


@pytest.fixture
def fresh_schema(endpoints, monkeypatch, request) -> str:
    """An empty schema of the test's own, which dbt builds into (SECMON_PG_SCHEMA)."""
    schema = f"state_{request.node.name.removeprefix('test_')}"
    query(endpoints, f"drop schema if exists {schema} cascade; create schema {schema}")
    monkeypatch.setenv(settings.ENV_PG_SCHEMA, schema)
    yield schema
    query(endpoints, f"drop schema {schema} cascade")


def columns(endpoints, schema: str, table: str) -> set[str]:
    rows = query(
        endpoints,
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        schema,
        table,
    )
    return {name for (name,) in rows}


def indexes(endpoints, schema: str) -> set[str]:
    return {name for (name,) in query(endpoints, "select indexname from pg_indexes where schemaname = %s", schema)}


def version_rows(endpoints, schema: str) -> list[tuple]:
    return query(endpoints, f"select version from {schema}.{settings.STATE_VERSION_TABLE}")


def test_new_schema(endpoints, fresh_schema):
    ensure_landing_table(endpoints)
    assert version_rows(endpoints, fresh_schema) == [(state.VERSION,)]
    assert "cluster_id" in columns(endpoints, fresh_schema, settings.OFFSETS_TABLE)
    assert columns(endpoints, fresh_schema, settings.WINDOW_CLOSE_TABLE) == {"only_row", "emitted_until", "watermark"}
    assert {state.TIME_INDEX, state.LANDED_INDEX} <= indexes(endpoints, fresh_schema)
    assert tables_are_current(endpoints, fresh_schema)
    assert state.migrate(endpoints.pg_url, fresh_schema) == state.VERSION  # nothing left to run


def test_old_schema_upgrades_in_place(endpoints, fresh_schema):
    query(endpoints, OLD_DDL.format(schema=fresh_schema))
    assert not tables_are_current(endpoints, fresh_schema)
    ensure_landing_table(endpoints)
    assert version_rows(endpoints, fresh_schema) == [(state.VERSION,)]
    assert {"landed_id", "tags"} <= columns(endpoints, fresh_schema, settings.LANDING_TABLE)
    assert query(endpoints, f"select kafka_offset, landed_id from {fresh_schema}.{settings.LANDING_TABLE}") == [(41, 1)]
    offsets = f"select next_offset, cluster_id from {fresh_schema}.{settings.OFFSETS_TABLE}"
    assert query(endpoints, offsets) == [(42, None)]  # kept, and counted as this cluster's (Ingester)
    for table in (settings.PENDING_ROWS_TABLE, settings.WINDOW_CLOSE_TABLE):
        assert columns(endpoints, fresh_schema, table), f"{table} was not made"
    assert {state.TIME_INDEX, state.LANDED_INDEX} <= indexes(endpoints, fresh_schema)
    assert tables_are_current(endpoints, fresh_schema)


def test_two_processes_run_each_step_once(endpoints, fresh_schema):
    """Without the lock both would read version 0 and race on the same CREATEs."""
    query(endpoints, OLD_DDL.format(schema=fresh_schema))
    query(
        endpoints,
        f"alter table {fresh_schema}.{settings.LANDING_TABLE} add landed_id bigint generated always as identity",
    )
    started_at: list[int] = []
    errors: list[Exception] = []

    def start() -> None:
        try:
            started_at.append(state.migrate(endpoints.pg_url, fresh_schema))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(started_at) == [0, state.VERSION]
    assert version_rows(endpoints, fresh_schema) == [(state.VERSION,)]


def test_newer_state_is_refused(endpoints, fresh_schema):
    ensure_landing_table(endpoints)
    query(endpoints, f"update {fresh_schema}.{settings.STATE_VERSION_TABLE} set version = %s", state.VERSION + 1)
    with pytest.raises(SecmonError, match="newer than this secmon"):
        state.migrate(endpoints.pg_url, fresh_schema)
