"""Local engine figures, in one run: ingest alone, the maximum sustainable rate with every view (as a
multiple of ingest alone), freshness at 2,000 events/s for the seed's views and for every view, the
median cycle time, and the stream's RSS.

The open windows are full: the last 30 minutes (the longest detection window) are loaded at the
live rate before any live traffic, so each refresh recomputes windows as large as they are in a
long run. Starts its own embedded stack in a temporary state dir.
Run: .venv/bin/python benchmarks/stream.py (`--quick` for shorter runs).
History is COPYed into the landing table by a child process, so this process's RSS is the stream's own.

The live traffic is generated before its clock starts and only sent in real time (`send_live`): the
generator costs about 100 µs of CPU per event (1.1 of this 2-core machine's cores at 10,000 events/s,
measured), which a live `secmon produce` would take from the stream it measures.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg2

from secmon import settings, stack
from secmon.core.endpoints import recorded_endpoints
from secmon.core.events import TimestampFormatter
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import LANDING_TABLE, Ingester, copy_row, ensure_landing_table
from secmon.engine.stream import Stream
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, encode_chunks, publish, send_chunks

LIVE_RATE = 2000
OPEN_WINDOWS_MINUTES = 30  # account_takeover_window


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def load_history(pg_url: str, rate: int, start_ms: int, end_ms: int) -> None:
    """Child process: generated events at `rate`/s from start_ms to end_ms, COPYed into the landing table."""
    traffic = plan(Mix(rate=rate, seed=99, attacks_per_scenario=0), start_ms, end_ms - start_ms)
    format_timestamp = TimestampFormatter()
    conn = psycopg2.connect(pg_url)
    buffer, count = io.BytesIO(), 0
    columns = (
        "request_timestamp, ip_address, user_agent, url, http_method, status_code, response_time, referrer, "
        "user_id, username, user_action, security_level, kafka_partition, kafka_offset"
    )

    def flush() -> None:
        buffer.seek(0)
        with conn.cursor() as cur:
            cur.copy_expert(f"copy {settings.pg_schema()}.{LANDING_TABLE} ({columns}) from stdin", buffer)
        conn.commit()

    for event in traffic.events():
        buffer.write(copy_row(event, -1, count, format_timestamp))
        count += 1
        if count % 200_000 == 0:
            flush()
            buffer = io.BytesIO()
    flush()
    conn.close()


def add_history(endpoints, rate: int, start_ms: int, end_ms: int) -> float:
    """Loads history and rebuilds every view over it; returns seconds taken."""
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--load-history",
            str(rate),
            "--start-ms",
            str(start_ms),
            "--end-ms",
            str(end_ms),
            "--pg-url",
            endpoints.pg_url,
        ],
        check=True,
    )
    if (
        run_dbt(["build", "-t", "local", "--quiet", "--resource-type", "seed", "--resource-type", "model"], endpoints)
        != 0
    ):
        raise SystemExit("dbt build failed")
    return time.monotonic() - started


def history_size(endpoints) -> int:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select count(*) from {settings.pg_schema()}.{LANDING_TABLE}")
        return cur.fetchone()[0]


@dataclass
class LiveRun:
    rate: int
    events: int = 0
    lags: list[float] = field(default_factory=list)
    cycles: list[float] = field(default_factory=list)
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, events waiting)
    peak_rss: float = 0.0
    view_seconds: dict[str, list[float]] = field(default_factory=dict)

    def percentile(self, fraction: float) -> float:
        return self.lags[min(len(self.lags) - 1, int(len(self.lags) * fraction))]

    @property
    def backlog_growth_per_minute(self) -> float:
        """Least-squares slope of the backlog (events waiting when a cycle began) while the traffic
        flowed, in events per minute; inf when hardly a cycle finished."""
        if len(self.backlog) < 3:
            return math.inf
        times, counts = zip(*self.backlog)
        mean_t, mean_c = statistics.fmean(times), statistics.fmean(counts)
        spread = sum((t - mean_t) ** 2 for t in times)
        return 60 * sum((t - mean_t) * (c - mean_c) for t, c in zip(times, counts)) / spread if spread else math.inf

    @property
    def backlog_grew(self) -> bool:
        """More than 5 seconds' worth of traffic added to the backlog per minute."""
        return self.backlog_growth_per_minute > 5 * self.rate


def send_live(bootstrap_servers: str, rate: int, seconds: int, users: int | None) -> None:
    """Child process: `seconds` of traffic at `rate`/s, generated in memory first, then sent in real
    time from a start far enough ahead for the generation to finish (timed on one and two seconds of
    it: the population's build, then each second's events)."""
    mix = Mix(rate=rate, seed=5, attacks_per_scenario=0, users=users)

    def generation_seconds(traffic_seconds: int) -> float:
        started = time.monotonic()
        list(encode_chunks(plan(mix, int(time.time() * 1000), traffic_seconds * 1000).events()))
        return time.monotonic() - started

    one, two = generation_seconds(1), generation_seconds(2)
    lead_seconds = one + max(0.0, two - one) * seconds * 1.3 + 2
    traffic = plan(mix, int((time.time() + lead_seconds) * 1000), seconds * 1000)
    chunks = list(encode_chunks(traffic.events()))
    sink = KafkaSink(bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC)
    time.sleep(max(0.0, traffic.start_ms / 1000 - time.time()))
    print("sending", flush=True)  # for live(): the traffic starts now
    send_chunks(chunks, sink, realtime=True)


def live(
    endpoints, state_dir: Path, rate: int, seconds: int, select: str | None = None, users: int | None = None
) -> LiveRun:
    """Realtime traffic at `rate` for `seconds`, streamed into the views: every event's
    produce → visible-in-every-view lag, the cycle times and the backlog. The clock starts at the
    first batch, once the traffic is generated."""
    runner = Stream(endpoints, state_dir, select=select)  # compiled before the traffic starts
    producer = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--send-live",
            str(rate),
            str(seconds),
            str(users or 0),
            "--bootstrap-servers",
            endpoints.bootstrap_servers,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    producer.stdout.readline()  # the traffic is generated and starts now
    run = LiveRun(rate, peak_rss=rss_mb())
    started: float | None = None

    def on_batch(report) -> None:
        nonlocal started
        now = time.monotonic()
        started = started or now - report.ingest_seconds - report.refresh_seconds
        run.lags.extend(report.lags)
        run.events += report.ingested
        run.cycles.append(report.ingest_seconds + report.refresh_seconds)
        if producer.poll() is None:  # the backlog while traffic flows
            run.backlog.append((now - started, report.lag_events))
        run.peak_rss = max(run.peak_rss, rss_mb())
        for name, view_seconds in report.view_seconds.items():
            run.view_seconds.setdefault(name, []).append(view_seconds)
        if (producer.poll() is not None and report.lag_events == 0) or now - started > seconds + 60:
            runner.request_stop()  # done, or too far behind to drain in reasonable time

    runner.run(on_batch, idle_exit_after=10)
    producer.terminate()
    producer.wait()
    run.lags.sort()
    return run


def slowest_views(run: LiveRun, statistic=statistics.median) -> list[tuple[float, str]]:
    """(`statistic` of the view's refresh seconds, view), slowest first."""
    return sorted(((statistic(times), name) for name, times in run.view_seconds.items()), reverse=True)


def print_freshness(run: LiveRun, what: str, history: int) -> None:
    print(
        f"freshness at {run.rate:,} events/s, {what}: {run.events:,} events over {history:,} of history: "
        f"p50 {run.percentile(0.5):.2f} s, p95 {run.percentile(0.95):.2f} s, max {run.lags[-1]:.2f} s; "
        f"median cycle {statistics.median(run.cycles):.2f} s "
        f"(p95 = {run.percentile(0.95) / statistics.median(run.cycles):.1f} x); "
        f"stream RSS peak {run.peak_rss:.0f} MB"
    )
    print(
        "  median refresh per view, slowest first (ms): "
        + ", ".join(f"{name} {seconds * 1000:.0f}" for seconds, name in slowest_views(run)[:8])
    )
    # A detection's window is computed when it closes: its cost shows in its slowest refresh.
    print(
        "  slowest single refresh per view (ms): "
        + ", ".join(f"{name} {seconds * 1000:.0f}" for seconds, name in slowest_views(run, max)[:8])
    )


def ingest_alone(endpoints, events: int, end_ms: int) -> float:
    """A pre-published topic drained into the landing table: events/s."""
    traffic = plan(Mix(rate=1000, seed=3), end_ms - events, events)
    publish(traffic, KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC))
    ingester = Ingester(endpoints)
    totals = ingester.drain()
    ingester.close()
    return totals.ingested / totals.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a first look")
    parser.add_argument("--load-history", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--start-ms", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--end-ms", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pg-url", help=argparse.SUPPRESS)
    parser.add_argument("--send-live", type=int, nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap-servers", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_history is not None:
        load_history(args.pg_url, args.load_history, args.start_ms, args.end_ms)
        return
    if args.send_live is not None:
        rate, seconds, users = args.send_live
        send_live(args.bootstrap_servers, rate, seconds, users or None)
        return
    ingest_events, live_seconds = (200_000, 30) if args.quick else (600_000, 60)

    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        stack.up(state_dir, stack.StackOptions(kafka_port=29292, pg_port=25632))
        try:
            endpoints = recorded_endpoints(state_dir)
            ensure_landing_table(endpoints)
            now_ms = int(time.time() * 1000)

            # 1. Ingest alone, into last week's minutes (outside the live windows).
            alone = ingest_alone(endpoints, ingest_events, now_ms - 7 * 86_400_000)
            print(f"ingest alone: {alone:,.0f} events/s (COPY batches, offsets in the same transaction)")

            # 2. The open windows, full: the last 30 minutes at the live rate.
            seconds = add_history(endpoints, LIVE_RATE, now_ms - OPEN_WINDOWS_MINUTES * 60_000, now_ms)
            history = history_size(endpoints)
            print(
                f"(the last {OPEN_WINDOWS_MINUTES} minutes loaded at {LIVE_RATE:,} events/s and every view rebuilt "
                f"in {seconds:.0f} s: {history:,} events of history)"
            )

            # 3. Freshness at 2,000 events/s.
            print_freshness(
                live(endpoints, state_dir, LIVE_RATE, live_seconds, "ingest metrics"),
                "the seed's 5 views",
                history_size(endpoints),
            )
            print_freshness(live(endpoints, state_dir, LIVE_RATE, live_seconds), "all views", history_size(endpoints))

            # 4. The highest rate whose backlog does not grow, with every view.
            sustained = None
            for share in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
                rate = int(alone * share)
                run = live(endpoints, state_dir, rate, live_seconds, users=5000)  # a population that builds in seconds
                grew = run.backlog_grew
                print(
                    f"  {rate:,} events/s asked, {run.events / live_seconds:,.0f}/s delivered "
                    f"({share:.2f} x ingest alone): "
                    f"backlog {run.backlog_growth_per_minute:+,.0f} events/min, "
                    f"{'grew' if grew else 'flat'}; freshness p95 {run.percentile(0.95):.2f} s, median cycle "
                    f"{statistics.median(run.cycles):.2f} s; slowest views (median ms): "
                    + ", ".join(f"{name} {seconds * 1000:.0f}" for seconds, name in slowest_views(run)[:4])
                )
                if grew:
                    break
                sustained = (rate, share)
            if sustained:
                print(
                    f"maximum sustainable rate with all views: >= {sustained[0]:,} events/s = "
                    f"{sustained[1]:.2f} x ingest alone"
                )
            else:
                print("maximum sustainable rate with all views: below 0.1 x ingest alone")
            print(f"stream RSS at the end: {rss_mb():.0f} MB")
        finally:
            stack.down(state_dir, purge=True)


if __name__ == "__main__":
    main()
