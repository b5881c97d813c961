"""Topic → landing table, exactly once: rows and consumed offsets commit in one transaction.

A message that does not parse or does not fit the event schema goes to the rejects table with its
raw bytes, partition, offset and the reason; ingestion goes on.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass, field

import psycopg2
from kafka import KafkaConsumer, TopicPartition
from psycopg2 import sql
from psycopg2.extras import execute_values

from secmon import settings
from secmon.core import kafka_clients
from secmon.core.classify.classifier import classified
from secmon.core.endpoints import Endpoints
from secmon.core.events import (
    FIELDS,
    Event,
    InvalidEvent,
    TimestampFormatter,
    is_heartbeat,
    parse_event,
    parse_heartbeat,
)
from secmon.core.kafka_clients import consumer_settings
from secmon.engine import state
from secmon.engine.watermark import Promises
from secmon.errors import SecmonError
from secmon.settings import (
    LANDING_TABLE,
    OFFSETS_TABLE,
    PENDING_ROWS_TABLE,
    PENDING_TABLE,
    REJECTS_TABLE,
    REQUESTS_VIEW,
)

MINUTE_MS = 60_000

Reject = tuple[str, int, int, bytes | None, str]  # topic, partition, offset, raw value, reason

# COPY's text format: backslash, tab and line breaks are escaped; \N is NULL. Few values hold
# one of them, so a row is checked once and escaped field by field only when it needs it.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search
_NULL = "\\N"


def copy_row(event: Event, partition: int, offset: int, format_timestamp: TimestampFormatter) -> bytes:
    """One landing-table row in COPY text format."""
    (_, ip, agent, url, method, status, response_time, referrer, user_id, username, action, level, tags) = event
    texts = (ip, agent, url, method, referrer, user_id, username, action, level)
    if _NEEDS_ESCAPE("\x00".join(text for text in texts if text is not None)):
        ip, agent, url, method, referrer, user_id, username, action, level = (
            None if text is None else text.translate(_COPY_ESCAPES) for text in texts
        )
    return (
        "\t".join(
            (
                format_timestamp(event.request_timestamp),
                ip,
                _NULL if agent is None else agent,
                url,
                method,
                str(status),
                _NULL if response_time is None else str(response_time),
                _NULL if referrer is None else referrer,
                _NULL if user_id is None else user_id,
                _NULL if username is None else username,
                action,
                level,
                _NULL if tags is None else _array_literal(tags),
                str(partition),
                str(offset),
            )
        ).encode("utf-8")
        + b"\n"
    )


def _array_literal(tags: tuple[str, ...]) -> str:
    """PostgreSQL's array text form; tags hold no character that needs quoting (TAG_PATTERN)."""
    return "{" + ",".join(tags) + "}"


@dataclass
class BatchResult:
    ingested: int = 0
    rejected: int = 0
    heartbeats: int = 0  # they land nowhere: they only move the watermark (secmon/engine/watermark.py)
    offsets: dict[int, int] = field(default_factory=dict)  # partition → next offset
    minutes: set[int] = field(default_factory=set)  # epoch ms of each minute that received events
    produced_ms: list[int] = field(default_factory=list)  # the messages' Kafka timestamps

    def add(self, other: BatchResult) -> None:
        """Folds a later poll's result into this one."""
        self.ingested += other.ingested
        self.rejected += other.rejected
        self.heartbeats += other.heartbeats
        self.offsets.update(other.offsets)
        self.minutes |= other.minutes
        self.produced_ms.extend(other.produced_ms)


@dataclass
class IngestTotals:
    batches: int = 0
    ingested: int = 0
    rejected: int = 0
    seconds: float = 0.0


def tables_are_current(endpoints: Endpoints, schema: str | None = None) -> bool:
    """The landing table has the models' newest columns (tags, landed_id), the view of it that the
    models read exists, and the engine's own tables are at this code's version (secmon/engine/state.py)."""
    schema = schema or settings.pg_schema()
    return _landing_is_current(endpoints, schema) and state.is_current(endpoints.pg_url, schema)


def _landing_is_current(endpoints: Endpoints, schema: str) -> bool:
    newest = ["landed_id", "tags"]
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            "select (select count(*) from information_schema.columns "
            "where table_schema = %s and table_name = %s and column_name = any(%s)) "
            "+ (select count(*) from information_schema.views where table_schema = %s and table_name = %s)",
            (schema, LANDING_TABLE, newest, schema, REQUESTS_VIEW),
        )
        present = cur.fetchone()[0] == len(newest) + 1
    conn.close()
    return present


def ensure_landing_table(endpoints: Endpoints) -> None:
    """In the schema dbt builds into now (SECMON_PG_SCHEMA): the landing table and the view of it,
    through dbt (the models that read them), if missing or older than the models; then the engine's
    own tables, made or migrated to this code's version (secmon/engine/state.py)."""
    from secmon.dbt_runner import run_dbt

    schema = settings.pg_schema()
    if not _landing_is_current(endpoints, schema):
        code = run_dbt(["run", "--quiet", "-t", "local", "-s", LANDING_TABLE, REQUESTS_VIEW], endpoints)
        if code != 0:
            raise SecmonError(f"`dbt run -s {LANDING_TABLE} {REQUESTS_VIEW}` failed with exit code {code}")
    state.migrate(endpoints.pg_url, schema)


class Ingester:
    """Consumes every partition of `topic` by assignment (no consumer group: the offsets live in
    PostgreSQL next to the rows) and appends each poll's messages as one batch."""

    def __init__(
        self,
        endpoints: Endpoints,
        topic: str = settings.EVENTS_TOPIC,
        schema: str | None = None,
        max_batch: int = 50_000,
        future_tolerance_ms: int = settings.FUTURE_TOLERANCE_MS,
    ) -> None:
        schema = schema or settings.pg_schema()
        self.endpoints, self.topic, self.schema, self.max_batch = endpoints, topic, schema, max_batch
        self.future_tolerance_ms = future_tolerance_ms
        if not tables_are_current(endpoints, schema):
            raise SecmonError(
                f"the engine's tables in {schema} are missing or out of date: "
                "run ensure_landing_table() first (as `secmon ingest` does)"
            )
        self.conn = psycopg2.connect(endpoints.pg_url)
        self.consumer = KafkaConsumer(
            bootstrap_servers=endpoints.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            **consumer_settings("secmon-ingest"),
        )
        self.cluster_id = kafka_clients.cluster_id(endpoints.bootstrap_servers)
        # Partitions whose stored offsets pointed into a log that is gone, now read from its start.
        self.restarted_partitions: list[int] = []
        self.partitions = self._assign()
        self.newest_per_partition: dict[int, int] = {}  # epoch ms of the newest event read
        self.promises = Promises()  # the heartbeats' publishers'
        self._format_timestamp = TimestampFormatter()

    def _table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def _assign(self) -> list[TopicPartition]:
        numbers = self.consumer.partitions_for_topic(self.topic)
        if not numbers:
            raise SecmonError(f"topic {self.topic} does not exist at {self.endpoints.bootstrap_servers}")
        partitions = [TopicPartition(self.topic, number) for number in sorted(numbers)]
        self.consumer.assign(partitions)
        self._seek_to_stored(partitions)
        other_cluster = self.stored_offsets(of_other_clusters=True)
        self._read_from_start([tp for tp in partitions if tp.partition in other_cluster])
        return partitions

    def restart_notice(self) -> str | None:
        """One line for the user when stored offsets pointed into a log that is gone."""
        if not self.restarted_partitions:
            return None
        return (
            f"{self.topic} is a new log (an in-memory broker restarted?): partitions "
            f"{', '.join(map(str, self.restarted_partitions))} are read from the beginning; "
            "the events landed before stay"
        )

    def _seek_to_stored(self, partitions: list[TopicPartition]) -> None:
        stored = self.stored_offsets()
        for tp in partitions:
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
            else:
                self.consumer.seek_to_beginning(tp)

    def stored_offsets(self, of_other_clusters: bool = False) -> dict[int, int]:
        """The next offset to read per partition. Rows stored before offsets named their cluster
        count as this cluster's."""
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "select kafka_partition, next_offset from {} where topic = %s and "
                    "coalesce(cluster_id = %s, true) <> %s"
                ).format(self._table(OFFSETS_TABLE)),
                (self.topic, self.cluster_id, of_other_clusters),
            )
            offsets = dict(cur.fetchall())
        self.conn.rollback()
        return offsets

    def _read_from_start(self, partitions: list[TopicPartition]) -> None:
        """These partitions' stored offsets point into a log that is gone: store offset 0 of this
        cluster's log instead, and read it from there. The events landed before stay."""
        if not partitions:
            return
        with self.conn.cursor() as cur:
            execute_values(
                cur,
                sql.SQL(
                    "insert into {} (topic, kafka_partition, next_offset, cluster_id) values %s "
                    "on conflict (topic, kafka_partition) "
                    "do update set next_offset = 0, cluster_id = excluded.cluster_id"
                )
                .format(self._table(OFFSETS_TABLE))
                .as_string(cur),
                [(self.topic, tp.partition, 0, self.cluster_id) for tp in partitions],
            )
        self.conn.commit()
        for tp in partitions:
            self.consumer.seek_to_beginning(tp)
        self.restarted_partitions = sorted({*self.restarted_partitions, *(tp.partition for tp in partitions)})

    def _past_their_log(self) -> list[TopicPartition]:
        """Partitions positioned beyond the high watermark of their last fetch: the log they were
        read from is gone, and this one has not grown back as far (an in-memory broker restarted
        under a stored offset without a cluster id). Kafka itself would answer OFFSET_OUT_OF_RANGE."""
        return [
            tp
            for tp in self.partitions
            if (highwater := self.consumer.highwater(tp)) is not None and self.consumer.position(tp) > highwater
        ]

    def event_time_reached(self) -> int | None:
        """The event time (epoch ms) every partition has reached: the newest event read, or the time
        every live publisher's heartbeats have promised if later (secmon/engine/watermark.py), held
        back to the newest event of each partition with messages still waiting, since a backlog read
        one partition ahead of another must not close the windows the other still has events for.
        None while such a partition has had no event read, or nothing is known at all."""
        waiting = [
            self.newest_per_partition.get(tp.partition)
            for tp in self.partitions
            if (highwater := self.consumer.highwater(tp)) is None or self.consumer.position(tp) < highwater
        ]
        known = [*self.newest_per_partition.values(), self.promises.kept()]
        if None in waiting or known == [None]:
            return None
        return min([max(time for time in known if time is not None), *waiting])

    def drained(self) -> bool:
        """Every partition's position has reached the high watermark of its last fetch response
        (not `end_offsets()`, which Tansu 0.6 answers wrongly)."""
        for tp in self.partitions:
            highwater = self.consumer.highwater(tp)
            if highwater is None or self.consumer.position(tp) < highwater:
                return False
        return True

    def poll_batch(self, timeout_ms: int = 1000, max_records: int | None = None) -> BatchResult:
        """Fetch up to max_records (default max_batch) messages and commit them, their rejects and
        offsets together. Any bytes are safe: a message lands or is rejected with its reason."""
        records = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records or self.max_batch)
        result = BatchResult()
        self._read_from_start(self._past_their_log())
        if not records:
            return result
        latest_ms = int(time.time() * 1000) + self.future_tolerance_ms
        rows: list[tuple[bytes, Reject]] = []
        rejects: list[Reject] = []
        minutes = result.minutes
        for tp, messages in records.items():
            for message in messages:
                try:
                    if is_heartbeat(message.value):
                        heartbeat = parse_heartbeat(message.value, latest_ms)
                        self.promises.heard(heartbeat.publisher, heartbeat.epoch_ms)
                        result.heartbeats += 1
                        continue
                    result.produced_ms.append(message.timestamp)
                    event = classified(parse_event(message.value, latest_ms))  # another shipper's: classified here
                except InvalidEvent as exc:
                    rejects.append((self.topic, tp.partition, message.offset, message.value, str(exc)))
                    continue
                except Exception as exc:  # noqa: BLE001 — hostile input must not stop ingestion
                    reason = f"unclassifiable: {type(exc).__name__}: {str(exc)[:120]}"
                    rejects.append((self.topic, tp.partition, message.offset, message.value, reason))
                    continue
                rows.append(
                    (
                        copy_row(event, tp.partition, message.offset, self._format_timestamp),
                        (self.topic, tp.partition, message.offset, message.value, ""),
                    )
                )
                ts = event.request_timestamp
                self._reached(tp.partition, ts)
                minutes.add(ts // MINUTE_MS * MINUTE_MS)
            result.offsets[tp.partition] = messages[-1].offset + 1
        refused = self._commit(rows, rejects, result.offsets, minutes)
        result.ingested = len(rows) - refused
        result.rejected = len(rejects) + refused
        return result

    def _reached(self, partition: int, event_ms: int) -> None:
        self.newest_per_partition[partition] = max(self.newest_per_partition.get(partition, event_ms), event_ms)

    def _commit(
        self, rows: list[tuple[bytes, Reject]], rejects: list[Reject], offsets: dict[int, int], minutes: set[int]
    ) -> int:
        """One transaction: rows, rejects, offsets, pending minutes and the batch's first landed_id.
        Returns how many rows the database refused (moved to the rejects table) so that one bad row
        cannot wedge the batch."""
        try:
            with self.conn.cursor() as cur:
                if rows:
                    self._note_first_landed_id(cur)
                refused_rows = self._land(cur, rows)
                self._record_progress(cur, rejects + refused_rows, offsets, minutes)
            self.conn.commit()
        except psycopg2.Error:
            self.conn.rollback()
            self._rewind()  # the batch is not stored: read it again
            raise
        return len(refused_rows)

    def _note_first_landed_id(self, cur) -> None:
        # Every row this transaction lands gets a landed_id above the sequence's last
        # value now (one ingester writes the landing table).
        cur.execute(
            sql.SQL(
                "insert into {} (first_landed_id) "
                "select coalesce(pg_sequence_last_value(pg_get_serial_sequence(%s, 'landed_id')), 0) + 1 "
                "on conflict do nothing"
            ).format(self._table(PENDING_ROWS_TABLE)),
            (f'"{self.schema}"."{LANDING_TABLE}"',),
        )

    def _land(self, cur, rows: list[tuple[bytes, Reject]]) -> list[Reject]:
        """COPYs the rows into the landing table; if the database refuses one, each row on its own.
        Returns the rejects of the rows it refused."""
        cur.execute("savepoint rows")
        try:
            self._copy(cur, b"".join(row for row, _ in rows))
        except psycopg2.DataError:
            cur.execute("rollback to savepoint rows")
            return self._copy_one_by_one(cur, rows)
        return []

    def _record_progress(self, cur, rejects: list[Reject], offsets: dict[int, int], minutes: set[int]) -> None:
        """The batch's rejects, the next offset of each partition and the minutes it made pending."""
        if rejects:
            execute_values(
                cur,
                sql.SQL("insert into {} (topic, kafka_partition, kafka_offset, raw_value, reason) values %s")
                .format(self._table(REJECTS_TABLE))
                .as_string(cur),
                rejects,
            )
        execute_values(
            cur,
            sql.SQL(
                "insert into {} (topic, kafka_partition, next_offset, cluster_id) values %s "
                "on conflict (topic, kafka_partition) do update "
                "set next_offset = excluded.next_offset, cluster_id = excluded.cluster_id"
            )
            .format(self._table(OFFSETS_TABLE))
            .as_string(cur),
            [(self.topic, partition, offset, self.cluster_id) for partition, offset in offsets.items()],
        )
        if minutes:
            execute_values(
                cur,
                sql.SQL(
                    "insert into {} (minute) select to_timestamp(ms / 1000.0) from (values %s) as batch (ms) "
                    "on conflict do nothing"
                )
                .format(self._table(PENDING_TABLE))
                .as_string(cur),
                [(minute,) for minute in sorted(minutes)],
            )

    def _copy(self, cur, rows: bytes) -> None:
        columns = sql.SQL(", ").join(map(sql.Identifier, (*FIELDS, "kafka_partition", "kafka_offset")))
        cur.copy_expert(
            sql.SQL("copy {} ({}) from stdin").format(self._table(LANDING_TABLE), columns).as_string(cur),
            io.BytesIO(rows),
        )

    def _copy_one_by_one(self, cur, rows: list[tuple[bytes, Reject]]) -> list[Reject]:
        """After the batch's COPY failed: each row on its own; the ones PostgreSQL refuses become rejects."""
        refused = []
        for row, (topic, partition, offset, raw, _) in rows:
            cur.execute("savepoint one_row")
            try:
                self._copy(cur, row)
            except psycopg2.DataError as exc:
                cur.execute("rollback to savepoint one_row")
                refused.append(
                    (topic, partition, offset, raw, f"database_refused: {(exc.pgerror or str(exc)).splitlines()[0]}")
                )
        return refused

    def _rewind(self) -> None:
        self._seek_to_stored(self.partitions)

    def drain(self, idle_timeout_s: float = 30.0) -> IngestTotals:
        """Ingest until every partition is caught up; gives up after idle_timeout_s without progress."""
        totals = IngestTotals()
        started = last_progress = time.monotonic()
        while True:
            result = self.poll_batch()
            if result.ingested or result.rejected:
                totals.batches += 1
                totals.ingested += result.ingested
                totals.rejected += result.rejected
                last_progress = time.monotonic()
            elif self.drained():
                break
            elif time.monotonic() - last_progress > idle_timeout_s:
                raise SecmonError(
                    f"no progress for {idle_timeout_s:.0f} s reading {self.topic} at {self.endpoints.bootstrap_servers}"
                )
        totals.seconds = time.monotonic() - started
        return totals

    def close(self) -> None:
        self.consumer.close()
        self.conn.close()
