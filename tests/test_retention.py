"""Retention never eats an alert: a history four times longer than the retention gives the same
alerts replayed in one go (one cycle ingests it all) as replayed a day at a time (the first days are
pruned while the last are streamed)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from support import built_stack

from secmon import settings
from secmon.core.events import Event
from secmon.engine.alerts import read_topic
from secmon.engine.stream import BatchReport, Stream
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, encode_chunks, send_chunks

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY_MS = 86_400_000
DAYS = 30
START_MS = 1_706_184_000_000


def history() -> list[Event]:
    """A fast clock: thirty days of a slow site (one request every 200 s), every attack scenario once
    a day."""
    mix = Mix(rate=0.005, seed=37, attacks_per_scenario=DAYS)
    return list(plan(mix, START_MS, DAYS * DAY_MS).events())


def by_day(events: list[Event]) -> list[list[Event]]:
    days: dict[int, list[Event]] = {}
    for event in events:
        days.setdefault((event.request_timestamp - START_MS) // DAY_MS, []).append(event)
    return [days[day] for day in sorted(days)]


def stream_pieces(stack_options, pieces: list[list[Event]]) -> tuple[dict[str, dict], list[BatchReport], datetime]:
    """Streams `pieces` on a stack of its own, each sent once the stream has ingested the ones
    before; returns the published alerts by id, each cycle's report and the oldest event kept."""
    with built_stack(stack_options()) as (state_dir, endpoints):
        sink = KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC)
        left, sent, reports = iter(pieces), 0, []

        def send_next() -> None:
            nonlocal sent
            if (piece := next(left, None)) is not None:
                assert send_chunks(encode_chunks(piece), sink).undelivered == 0
                sent += len(piece)

        stream = Stream(endpoints, state_dir)

        def on_batch(report: BatchReport) -> None:
            reports.append(report)
            if stream.status.ingested + stream.status.rejected >= sent:
                send_next()

        send_next()
        stream.run(on_batch, idle_exit_after=3)
        assert stream.status.ingested == sum(map(len, pieces))
        published = read_topic(endpoints.bootstrap_servers, settings.ALERTS_TOPIC)
        alerts = {doc["alert_id"]: doc for doc in map(json.loads, published)}
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute(f"select min(request_timestamp) from {settings.pg_schema()}.website_logs_source")
            oldest_kept = cur.fetchone()[0]
        conn.close()
    return alerts, reports, oldest_kept


def test_thirty_days_in_one_go_give_the_alerts_of_thirty_days_one_at_a_time(stack_options):
    events = history()
    newest = datetime.fromtimestamp(events[-1].request_timestamp / 1000, UTC)
    started = time.monotonic()
    one_go, one_go_reports, one_go_kept = stream_pieces(stack_options, [events])
    one_go_seconds = time.monotonic() - started
    started = time.monotonic()
    daily, daily_reports, daily_kept = stream_pieces(stack_options, by_day(events))
    daily_seconds = time.monotonic() - started
    print(
        f"{len(events)} events over {DAYS} days: {len(one_go)} alerts in one go ({len(one_go_reports)} cycles, "
        f"{one_go_seconds:.0f} s, slowest refresh {max(r.refresh_seconds for r in one_go_reports):.1f} s), "
        f"{len(daily)} a day at a time ({len(daily_reports)} cycles, {daily_seconds:.0f} s, slowest refresh "
        f"{max(r.refresh_seconds for r in daily_reports):.1f} s)"
    )
    assert len(one_go) >= 10 * DAYS, "too few alerts to prove anything"
    assert one_go == daily
    oldest_alert = min(datetime.fromisoformat(alert["window_end"]) for alert in one_go.values())
    assert oldest_alert < newest - timedelta(days=DAYS - 2), "the first days' alerts are out"
    # Both pruned to the retention behind the published alerts (to the hour), once they were out.
    oldest_allowed = newest - timedelta(milliseconds=settings.RETENTION_MS + Stream.PRUNE_EVERY_MS)
    oldest_allowed -= timedelta(milliseconds=settings.WATERMARK_DELAY_MS)
    assert one_go_kept >= oldest_allowed and daily_kept >= oldest_allowed
