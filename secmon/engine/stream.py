"""`secmon stream`: ingest continuously and refresh the views after every batch."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

from secmon import settings, status_file
from secmon.core.endpoints import Endpoints
from secmon.engine.alerts import AlertPublisher
from secmon.engine.ingest import BatchResult, Ingester, ensure_landing_table
from secmon.engine.refresh import Refresher, compile_views
from secmon.enrich import ENRICHMENT_TABLE
from secmon.errors import SecmonError


@dataclass
class BatchReport:
    ingested: int
    rejected: int
    ingest_seconds: float
    refresh_seconds: float
    freshness_p50: float | None  # produce → visible in every view, seconds
    freshness_max: float | None
    lags: list[float] = field(repr=False, default_factory=list)  # every event's freshness, sorted
    view_seconds: dict[str, float] = field(default_factory=dict)
    lag_events: int = 0  # events waiting on the topic when the cycle began
    lag_seconds: float = 0.0  # how long the oldest of them had waited then


@dataclass
class StreamStatus:
    """What `secmon status` shows about a running stream; written to <state dir>/stream.json."""

    pid: int
    updated_at: float
    ingested: int = 0
    rejected: int = 0
    batches: int = 0
    last_refresh_seconds: float = 0.0
    alerts_published: int = 0
    lag_events: int = 0
    lag_seconds: float = 0.0
    partitions: dict[str, dict[str, int | None]] = field(default_factory=dict)


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def status_path(state_dir: Path) -> Path:
    return state_dir / "stream.json"


def read_status(state_dir: Path) -> dict | None:
    return status_file.read(status_path(state_dir))


class Stream:
    """One process: ingest everything pending → refresh the views it touched → repeat.

    A cycle takes all the events that arrived during the one before (up to `max_cycle_events`), so
    when a refresh is slow the next batch is larger rather than the lag longer: a refresh costs
    about the same whatever the batch size (it recomputes the open windows), so the stream catches
    up instead of falling further behind batch by batch."""

    RECONNECT_BACKOFF = (0.2, 0.5, 1, 2, 4, 8)
    PRUNE_EVERY_MS = 3_600_000  # of event time: retention is enforced to the hour

    def __init__(
        self,
        endpoints: Endpoints,
        state_dir: Path,
        max_batch: int = 50_000,
        topic: str = settings.EVENTS_TOPIC,
        schema: str | None = None,
        watermark_delay_ms: int = settings.WATERMARK_DELAY_MS,
        retention_ms: int = settings.RETENTION_MS,
        select: str | None = None,
        max_cycle_events: int = 1_000_000,
        refresh_workers: int | None = None,
    ) -> None:
        self.endpoints, self.state_dir, self.max_batch = endpoints, state_dir, max_batch
        self.max_cycle_events = max_cycle_events
        self.refresh_workers = refresh_workers or min(4, os.cpu_count() or 1)
        self.topic, self.schema = topic, schema or settings.pg_schema()
        ensure_landing_table(endpoints)
        self.views = compile_views(endpoints, state_dir / "engine-target", select)
        self.stopping = False
        self.ingester: Ingester | None = None
        self.refresher: Refresher | None = None
        self.refresh_connections: list = []
        self.alerts: AlertPublisher | None = None
        self.enriching = False
        self.watermark: datetime | None = None  # windows ending at or before it are closed
        self.published_until: datetime | None = None  # the alerts of windows ending by then are out
        self.watermark_delay_ms = watermark_delay_ms
        self.retention_ms = retention_ms
        self.pruned_at: datetime | None = None  # the retention frontier at the last prune
        self.status = StreamStatus(pid=os.getpid(), updated_at=time.time())

    def _connect(self) -> None:
        self.ingester = Ingester(self.endpoints, self.topic, self.schema, self.max_batch)
        # The ingester's connection and refresh_workers - 1 more for the views, one for the window-close views.
        self.refresh_connections = [psycopg2.connect(self.endpoints.pg_url) for _ in range(self.refresh_workers)]
        self.refresher = Refresher([self.ingester.conn, *self.refresh_connections], self.views, self.schema)
        missing = self.refresher.missing_views()
        if missing:
            raise SecmonError(f"view table(s) {', '.join(missing)} do not exist: run `secmon dbt build` first")
        self.refresher.ensure_indexes()
        self.refresher.summarize_brin_indexes()  # rows loaded without the engine, e.g. a bulk COPY
        self.watermark = self.refresher.load_progress()
        self.published_until = None
        self.refresher.refresh(self.watermark)  # windows left pending by a crash or by `ingest --once`
        if any(view.sinks_into for view in self.views):
            self.alerts = AlertPublisher(self.ingester.conn, self.endpoints.bootstrap_servers, self.schema)
            self.enriching = self.refresher.table_exists(ENRICHMENT_TABLE)  # made by `dbt build`
        self._publish_closed_alerts()
        self._write_status()  # `secmon status` sees the stream from its start, not after a first cycle

    def _reconnect(self, error: Exception) -> None:
        for delay in self.RECONNECT_BACKOFF:
            if self.stopping:
                return
            time.sleep(delay)
            try:
                self._close()
                self._connect()
                return
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                continue
        raise SecmonError(f"PostgreSQL at {self.endpoints.pg_url} is gone: {str(error).strip()}")

    def _advance_watermark(self) -> None:
        """The event time every partition has reached, less the watermark delay (never moves back)."""
        reached_ms = self.ingester.event_time_reached()
        if reached_ms is not None:
            watermark = datetime.fromtimestamp((reached_ms - self.watermark_delay_ms) / 1000, UTC)
            self.watermark = max(self.watermark or watermark, watermark)

    def _publish_closed_alerts(self) -> None:
        """The alerts of the windows the window-close views have computed since the last call; then
        retention, which follows what is published."""
        emitted_until = self.refresher.emitted_until
        if emitted_until is not None and emitted_until != self.published_until:
            if self.alerts is not None:
                self.status.alerts_published += self.alerts.publish_closed(emitted_until)
            self.published_until = emitted_until
        self._prune()

    def _enrich(self) -> None:
        """The country and network of new alerting addresses (few: alerts are), once each."""
        if self.alerts is None or not self.enriching:
            return
        from secmon.enrich import default_lookup, enrich_alerting_addresses

        enrich_alerting_addresses(self.ingester.conn, default_lookup(), self.schema)

    def _prune(self) -> None:
        """Every hour of event time, what ended a retention before the frontier goes. The frontier is
        the end of the windows whose alerts are out (the watermark when no window-close view is
        selected), not the newest event: a backlog of weeks read in one cycle is ingested long
        before its windows are computed, and its events must stay until they are. Every window still
        to compute ends after the frontier and reads at most two days before its end (a window and
        the one before it), well inside the retention."""
        frontier = self.published_until if self.refresher.closes_windows else self.watermark
        if frontier is None:
            return
        if self.pruned_at is not None and frontier - self.pruned_at < timedelta(milliseconds=self.PRUNE_EVERY_MS):
            return
        self.refresher.prune(frontier - timedelta(milliseconds=self.retention_ms))
        self.pruned_at = frontier

    def _close(self) -> None:
        if self.refresher is not None:
            self.refresher.close()
            self.refresher = None
        for conn in self.refresh_connections:
            conn.close()
        self.refresh_connections = []
        if self.alerts is not None:
            self.alerts.close()
            self.alerts = None
        if self.ingester is not None:
            self.ingester.close()
            self.ingester = None

    def request_stop(self, *_args) -> None:
        self.stopping = True

    def run(self, on_batch: Callable[[BatchReport], None] | None = None, idle_exit_after: float | None = None) -> None:
        """Runs until SIGINT/SIGTERM (the current batch finishes or rolls back first), or after
        `idle_exit_after` seconds without events."""
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._connect()
            last_event = time.monotonic()
            while not self.stopping:
                try:
                    report = self._one_batch()
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                    self._reconnect(exc)
                    continue
                if report is None:
                    if idle_exit_after is not None and time.monotonic() - last_event > idle_exit_after:
                        break
                    continue
                last_event = time.monotonic()
                if on_batch is not None:
                    on_batch(report)
            if self.refresher is not None:  # not after a reconnect cut short by a stop
                self.refresher.finish(self.watermark)  # the windows closed so far computed, the open ones shown
                self._publish_closed_alerts()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close()

    def _ingest_pending(self) -> BatchResult:
        """Everything on the topic now (up to max_cycle_events), each poll committed with its offsets."""
        total = self.ingester.poll_batch(timeout_ms=200)
        empty_polls = 0
        while (
            (total.ingested or total.rejected)
            and not self.stopping
            and empty_polls < 3
            and total.ingested + total.rejected < self.max_cycle_events
            and not self.ingester.drained()
        ):
            more = self.ingester.poll_batch(timeout_ms=50)
            total.add(more)  # heartbeats alone still move the watermark
            if not (more.ingested or more.rejected):
                empty_polls += 1
                continue
            empty_polls = 0
        return total

    def _one_batch(self) -> BatchReport | None:
        started, started_at = time.monotonic(), time.time()
        result = self._ingest_pending()
        self._advance_watermark()
        if not (result.ingested or result.rejected):
            # A quiet site: no new event, but windows may have closed, or the window job finished.
            if result.heartbeats or self.refresher.window_job is not None:
                self.refresher.refresh(self.watermark)
                self._publish_closed_alerts()
            self._write_status(waiting=0)
            return None
        ingested_at = time.monotonic()
        timings = self.refresher.refresh(self.watermark)
        visible_ms = time.time() * 1000
        self._publish_closed_alerts()
        self._enrich()
        refreshed_at = time.monotonic()
        lags = sorted((visible_ms - produced) / 1000 for produced in result.produced_ms)
        self.status.ingested += result.ingested
        self.status.rejected += result.rejected
        self.status.batches += 1
        self.status.last_refresh_seconds = sum(timings.values())
        # A cycle takes everything that waited when it began: that is the lag (plus what a cap left).
        self._write_status(
            waiting=result.ingested + result.rejected,
            oldest_waited=max(0.0, started_at - min(result.produced_ms) / 1000),
        )
        return BatchReport(
            result.ingested,
            result.rejected,
            ingested_at - started,
            refreshed_at - ingested_at,
            percentile(lags, 0.5) if lags else None,
            lags[-1] if lags else None,
            lags,
            timings,
            self.status.lag_events,
            self.status.lag_seconds,
        )

    def _write_status(self, waiting: int | None = None, oldest_waited: float = 0.0) -> None:
        """The stream's counters and lag, for `secmon status`: the events that waited on the topic when
        the latest cycle began and the age of the oldest, plus any a cycle's cap left behind (the
        consumer's high watermark is only as fresh as its last fetch, so it cannot tell alone)."""
        consumer = self.ingester.consumer
        self.status.partitions = {
            str(tp.partition): {"position": consumer.position(tp), "highwater": consumer.highwater(tp)}
            for tp in self.ingester.partitions
        }
        if waiting is not None:
            left = sum(
                max(0, (offsets["highwater"] or 0) - offsets["position"]) for offsets in self.status.partitions.values()
            )
            self.status.lag_events = waiting + left
            self.status.lag_seconds = oldest_waited
        status_file.write(status_path(self.state_dir), self.status)
