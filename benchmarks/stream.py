"""Local engine figures: ingest rate, freshness under load, refresh cost against history, memory.

Starts its own embedded stack in a temporary state dir. Run: .venv/bin/python benchmarks/stream.py
(`--quick` for smaller sizes). History is loaded straight into the landing table (COPY) by a child
process, so that this process's RSS is the stream's own.
"""

from __future__ import annotations

import _no_shadow  # noqa: F401  (first: see its docstring)

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg2

from producer.event import TimestampFormatter
from producer.generate import Mix, plan
from producer.publish import KafkaSink, publish
from secmon import settings, stack
from secmon.dbt import run_dbt
from secmon.ingest import LANDING_TABLE, Ingester, copy_row, ensure_landing_table
from secmon.stream import Stream

DAY_MS = 86_400_000


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def load_history(pg_url: str, events: int, end_ms: int) -> None:
    """Child process: `events` generated events ending at end_ms, COPYed into the landing table."""
    rate = 1000
    minutes = events / rate / 60 * 1.5  # the plan's rate is approximate: generate more, stop at `events`
    traffic = plan(Mix(rate=rate, seed=99, attacks_per_scenario=0), end_ms - int(minutes * 60_000), int(minutes * 60_000))
    format_timestamp = TimestampFormatter()
    conn = psycopg2.connect(pg_url)
    buffer, count = io.BytesIO(), 0
    columns = ("request_timestamp, ip_address, user_agent, url, http_method, status_code, response_time, referrer, "
               "user_id, username, user_action, security_level, kafka_partition, kafka_offset")
    for event in traffic.events():
        buffer.write(copy_row(event, -1, count, format_timestamp))
        count += 1
        if count % 200_000 == 0 or count == events:
            buffer.seek(0)
            with conn.cursor() as cur:
                cur.copy_expert(f"copy {settings.PG_SCHEMA}.{LANDING_TABLE} ({columns}) from stdin", buffer)
            conn.commit()
            buffer = io.BytesIO()
        if count == events:
            break
    conn.close()


def grow_history(endpoints, events: int, end_ms: int) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, __file__, "--load-history", str(events), "--end-ms", str(end_ms),
                    "--pg-url", endpoints.pg_url], check=True)
    if run_dbt(["build", "-t", "local", "--quiet", "--resource-type", "seed", "--resource-type", "model"],
               endpoints) != 0:
        raise SystemExit("dbt build failed")
    return time.monotonic() - started


def history_size(endpoints) -> int:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select count(*) from {settings.PG_SCHEMA}.website_logs_source")
        return cur.fetchone()[0]


def refresh_times(endpoints, state_dir: Path, batches: int, batch_events: int, at_ms: int) -> list[float]:
    """Publishes `batches` batches of new events (current minutes) and times each refresh."""
    traffic = plan(Mix(rate=batch_events, seed=7, attacks_per_scenario=0), at_ms, batches * 1000)
    assert publish(traffic, KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC)).undelivered == 0
    runner = Stream(endpoints, state_dir, max_batch=batch_events)
    reports = []
    runner.run(reports.append, idle_exit_after=2)
    slowest = {name: statistics.median(report.view_seconds.get(name, 0) for report in reports)
               for name in reports[0].view_seconds}
    print("  median per view (ms): " + ", ".join(f"{name} {seconds * 1000:.0f}" for name, seconds in slowest.items()))
    return [report.refresh_seconds for report in reports]


def freshness(endpoints, state_dir: Path, seconds: int, select: str | None = None) -> None:
    """Live traffic at 2,000 events/s for `seconds`; every event's produce → visible-in-every-view lag."""
    runner = Stream(endpoints, state_dir, select=select)  # compiled before the traffic starts
    producer = subprocess.Popen(
        [str(Path(sys.executable).with_name("secmon")), "produce", "--rate", "2000", "--duration", str(seconds),
         "--attacks", "0", "--state-dir", str(state_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lags, peak_rss, events = [], rss_mb(), 0

    def on_batch(report) -> None:
        nonlocal peak_rss, events
        lags.extend(report.lags)
        events += report.ingested
        peak_rss = max(peak_rss, rss_mb())

    runner.run(on_batch, idle_exit_after=5)
    producer.wait()
    lags.sort()
    print(f"freshness at 2,000 events/s for {seconds} s, {len(runner.views)} views ({select or 'all'}), "
          f"{events:,} events, {history_size(endpoints):,} of history: p50 {lags[len(lags) // 2]:.2f} s, "
          f"p95 {lags[int(len(lags) * 0.95)]:.2f} s, max {lags[-1]:.2f} s; stream RSS peak {peak_rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a first look")
    parser.add_argument("--freshness-only", action="store_true",
                        help="only the freshness figure, for the seed's views and for every view")
    parser.add_argument("--load-history", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--end-ms", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pg-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_history is not None:
        load_history(args.pg_url, args.load_history, args.end_ms)
        return
    ingest_events, small, medium, large, live_seconds = (
        (200_000, 100_000, 300_000, 1_000_000, 20) if args.quick else (1_000_000, 100_000, 1_000_000, 5_000_000, 60))

    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        stack.up(state_dir, stack.StackOptions(kafka_port=29292, pg_port=25632))
        try:
            endpoints = stack.endpoints(state_dir)
            ensure_landing_table(endpoints)
            now_ms = int(time.time() * 1000)
            history_end = now_ms - DAY_MS
            base_at = now_ms - 3_600_000
            if args.freshness_only:
                grow_history(endpoints, medium, history_end)
                freshness(endpoints, state_dir, live_seconds, select="ingest metrics")
                freshness(endpoints, state_dir, live_seconds)
                return

            # 1. Refresh cost with a small history.
            grow_history(endpoints, small, history_end - DAY_MS)
            small_times = refresh_times(endpoints, state_dir, 30, 2000, base_at)
            print(f"refresh at {history_size(endpoints):,} events of history: median "
                  f"{statistics.median(small_times) * 1000:.0f} ms per batch of 2,000 ({len(small_times)} batches)")

            # 2. Ingest alone: a pre-published topic drained into the landing table.
            traffic = plan(Mix(rate=1000, seed=3), history_end - ingest_events, ingest_events)
            publish(traffic, KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC))
            ingester = Ingester(endpoints)
            totals = ingester.drain()
            ingester.close()
            print(f"ingest: {totals.ingested:,} events in {totals.seconds:.1f} s = "
                  f"{totals.ingested / totals.seconds:,.0f} events/s (COPY batches, offsets in the same transaction); "
                  f"RSS {rss_mb():.0f} MB")

            # 3. Freshness at 2k events/s, realtime, with >= 1M events of history.
            seconds = grow_history(endpoints, max(0, medium - history_size(endpoints)), history_end - 2 * DAY_MS)
            print(f"(history grown to {history_size(endpoints):,} events and views rebuilt in {seconds:.0f} s)")
            freshness(endpoints, state_dir, live_seconds)

            # 4. Refresh cost with a large history.
            seconds = grow_history(endpoints, large - history_size(endpoints), history_end - 4 * DAY_MS)
            print(f"(history grown to {history_size(endpoints):,} events and views rebuilt in {seconds:.0f} s)")
            large_times = refresh_times(endpoints, state_dir, 30, 2000, base_at + 600_000)
            ratio = statistics.median(large_times) / statistics.median(small_times)
            print(f"refresh at {history_size(endpoints):,} events of history: median "
                  f"{statistics.median(large_times) * 1000:.0f} ms per batch = {ratio:.2f} x the one at "
                  f"{small:,}; stream RSS now {rss_mb():.0f} MB")
        finally:
            stack.down(state_dir, purge=True)


if __name__ == "__main__":
    main()
