"""`secmon follow` figures, in one run: throughput on a pre-written 1M-line access log (lines/s,
with parsing alone measured in the same run as its ceiling), and the latency from a line written
to the event in the landing table at 1,000 lines/s (p50, p95).

Starts its own embedded stack in a temporary state dir. Run: .venv/bin/python benchmarks/follow.py
(`--lines N`, `--seconds S` for shorter runs).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import psycopg2

from secmon import settings, stack
from secmon.core import kafka_clients
from secmon.core.logs.formats import parse_line
from secmon.engine.ingest import Ingester, ensure_landing_table
from secmon.follow import Follow

AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
)


def log_line(number: int, path: str) -> str:
    seconds = number % 86_400
    return (
        f"198.51.{number // 250 % 250}.{number % 250 + 1} - - [12/Mar/2024:{seconds // 3600:02d}:"
        f'{seconds // 60 % 60:02d}:{seconds % 60:02d} +0000] "GET {path} HTTP/1.1" 200 5120 '
        f'"https://www.example.com/" "{AGENT}" 0.012'
    )


def throughput(endpoints, state_dir: Path, lines: int) -> None:
    log = state_dir / "big.log"
    with open(log, "w") as handle:
        for number in range(lines):
            handle.write(log_line(number, f"/products/{number % 5000}?page={number % 7}") + "\n")
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, "bench_follow", settings.DEFAULT_PARTITIONS)
    sample = log.read_text().splitlines()[:200_000]
    started = time.perf_counter()
    for text in sample:
        parse_line(text)
    parse_rate = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    status = Follow(
        [log],
        endpoints.bootstrap_servers,
        "bench_follow",
        state_dir / "follow-big",
        from_start=True,
    ).run(stop_after_idle=1.0)
    seconds = time.perf_counter() - started - 1.0  # less the idle second that ends it
    assert status.published == lines, status
    rate = lines / seconds
    print(
        f"follow a pre-written {lines:,}-line combined log: {rate:,.0f} lines/s "
        f"({rate / parse_rate:.2f} x parsing alone, {parse_rate:,.0f} lines/s, measured in this run)"
    )


def latency(endpoints, state_dir: Path, seconds: float, rate: int = 1000) -> None:
    log = state_dir / "live.log"
    log.touch()
    ensure_landing_table(endpoints)
    ingester = Ingester(endpoints)
    stop = threading.Event()

    def write() -> None:
        with open(log, "a", buffering=1) as handle:
            number, started = 0, time.monotonic()
            while not stop.is_set():
                due = started + number / rate
                time.sleep(max(0.0, due - time.monotonic()))
                handle.write(log_line(number, f"/written/{time.time():.6f}") + "\n")
                number += 1

    live = Follow([log], endpoints.bootstrap_servers, settings.EVENTS_TOPIC, state_dir / "follow-live")
    follower = threading.Thread(target=live.run, kwargs={"stop_after_idle": 2.0}, daemon=True)
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    follower.start()
    ended = time.monotonic() + seconds
    while time.monotonic() < ended:
        ingester.poll_batch()
    stop.set()
    follower.join()
    ingester.drain()
    ingester.close()
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            f"select extract(epoch from ingested_at) - cast(split_part(url, '/', 3) as double precision) "
            f"from {settings.pg_schema()}.website_logs_source where url like '/written/%'"
        )
        delays = sorted(row[0] for row in cur.fetchall())
    conn.close()
    p95 = delays[int(len(delays) * 0.95)]
    print(
        f"line written → event in the landing table at {rate:,} lines/s for {seconds:.0f} s: "
        f"p50 {statistics.median(delays):.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s ({len(delays):,} lines)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with stack.temporary(stack.StackOptions(kafka_port=29792, pg_port=26132)) as (state_dir, endpoints):
        throughput(endpoints, state_dir, args.lines)
        latency(endpoints, state_dir, args.seconds)


if __name__ == "__main__":
    main()
