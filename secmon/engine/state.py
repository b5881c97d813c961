"""The local engine's own tables beside the landing table, made and migrated here, not by dbt.

dbt creates only what the models read: the landing table (models/ingest/website_logs_source.sql) and
the view of it. The engine's bookkeeping (the consumed offsets, the rejects, the minutes and rows a
refresh waits for, the window-close progress) and the landing table's indexes are numbered steps.
The number of the last step run is the one row of STATE_VERSION_TABLE; `migrate` runs the steps after
it, all in one transaction, under an advisory lock so that two processes starting together run each
step once. A database made before the version row existed (by the old stream_source macro) has
version 0: every step is written to be a no-op on what such a database already has.
"""

from __future__ import annotations

from typing import NamedTuple

import psycopg2
from psycopg2 import sql

from secmon.errors import SecmonError
from secmon.manifest import EVENT_TIME_COLUMN
from secmon.settings import (
    LANDING_TABLE,
    OFFSETS_TABLE,
    PENDING_ROWS_TABLE,
    PENDING_TABLE,
    REJECTS_TABLE,
    STATE_VERSION_TABLE,
    WINDOW_CLOSE_TABLE,
)

# The landing table's BRIN indexes: the stream engine reads one window's events by time range and
# the newly landed rows by landed_id. BRIN suits append-mostly data; the engine summarizes new page
# ranges before each refresh (unsummarized ranges always match).
TIME_INDEX = f"{LANDING_TABLE}__time"
LANDED_INDEX = f"{LANDING_TABLE}__landed"


class Step(NamedTuple):
    why: str
    statements: tuple[str, ...]  # each with {schema}: the schema's quoted name


STEPS = (
    Step(
        "the bookkeeping tables",
        (
            f"""create table if not exists {{schema}}.{OFFSETS_TABLE} (
                topic text not null,
                kafka_partition integer not null,
                next_offset bigint not null,
                primary key (topic, kafka_partition)
            )""",
            f"""create table if not exists {{schema}}.{REJECTS_TABLE} (
                topic text not null,
                kafka_partition integer not null,
                kafka_offset bigint not null,
                raw_value bytea,
                reason text not null,
                rejected_at timestamptz not null default now()
            )""",
            f"create table if not exists {{schema}}.{PENDING_TABLE} (minute timestamptz primary key)",
            f"create table if not exists {{schema}}.{PENDING_ROWS_TABLE} (first_landed_id bigint primary key)",
            f"""create table if not exists {{schema}}.{WINDOW_CLOSE_TABLE} (
                only_row boolean primary key default true check (only_row),
                emitted_until timestamptz not null,
                watermark timestamptz not null
            )""",
        ),
    ),
    # The offsets are positions in that cluster's log; an in-memory broker restarted under a new id
    # starts an empty log, which is read from its beginning. Rows stored before it have NULL.
    Step("offsets.cluster_id", (f"alter table {{schema}}.{OFFSETS_TABLE} add column if not exists cluster_id text",)),
    Step(
        "the landing table's indexes",
        (
            f"create index if not exists {TIME_INDEX} on {{schema}}.{LANDING_TABLE} "
            f"using brin ({EVENT_TIME_COLUMN}) with (pages_per_range = 32)",
            f"create index if not exists {LANDED_INDEX} on {{schema}}.{LANDING_TABLE} "
            "using brin (landed_id) with (pages_per_range = 32)",
        ),
    ),
)
VERSION = len(STEPS)  # step n (from 1) brings the state to version n


def _stored_version(cur, schema: str) -> int:
    """The version recorded in `schema`: 0 when it has no version table (a database made before it)."""
    cur.execute("select to_regclass(%s)", (f"{_quoted(cur, schema)}.{STATE_VERSION_TABLE}",))
    if cur.fetchone()[0] is None:
        return 0
    cur.execute(f"select version from {_quoted(cur, schema)}.{STATE_VERSION_TABLE}")
    row = cur.fetchone()
    return row[0] if row else 0


def is_current(pg_url: str, schema: str) -> bool:
    """Whether `schema` holds the engine's tables at this code's version."""
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        current = _stored_version(cur, schema) == VERSION
    conn.close()
    return current


def migrate(pg_url: str, schema: str) -> int:
    """Runs the steps `schema` has not run yet, after dbt has made the landing table; returns the
    version it started from. A database at a newer version than this code is an error, not a downgrade."""
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        # Held until the transaction ends: the second of two starting processes sees the first's steps done.
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"secmon state {schema}",))
        started_at = _stored_version(cur, schema)
        if started_at > VERSION:
            raise SecmonError(
                f"the engine's tables in {schema} are at version {started_at}, newer than this secmon's {VERSION}"
            )
        for number, step in enumerate(STEPS[started_at:], start=started_at + 1):
            try:
                for statement in step.statements:
                    cur.execute(statement.format(schema=_quoted(cur, schema)))
            except psycopg2.Error as exc:
                raise SecmonError(f"engine state step {number} ({step.why}) failed in {schema}: {exc}") from exc
        if started_at < VERSION:
            _record(cur, f"{_quoted(cur, schema)}.{STATE_VERSION_TABLE}")
    conn.close()
    return started_at


def _record(cur, table: str) -> None:
    cur.execute(
        f"create table if not exists {table} "
        "(only_row boolean primary key default true check (only_row), version integer not null)"
    )
    cur.execute(
        f"insert into {table} (version) values (%s) on conflict (only_row) do update set version = excluded.version",
        (VERSION,),
    )


def _quoted(cur, schema: str) -> str:
    return sql.Identifier(schema).as_string(cur)
