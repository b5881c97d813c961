"""Producer figures: generation speed, publishing against the raw kafka-python ceiling, memory.

Starts its own embedded stack in a temporary state dir. Run: .venv/bin/python benchmarks/produce_backfill.py
(--events / --rss-events make it shorter).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from secmon import stack
from secmon.core import kafka_clients
from secmon.core.endpoints import recorded_endpoints
from secmon.core.events import EventEncoder
from secmon.core.kafka_clients import Producer
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, publish

START_MS = 1_706_184_000_000
RATE = 1000  # normal events per simulated second


def minutes_for(events: int) -> int:
    return max(1, round(events / RATE / 60))


def generation_rate(events: int) -> tuple[int, float]:
    traffic = plan(Mix(rate=RATE, seed=1), START_MS, minutes_for(events) * 60_000)
    encode = EventEncoder().encode
    started = time.perf_counter()
    count = sum(1 for event in traffic.events() if encode(event))
    return count, count / (time.perf_counter() - started)


def raw_ceiling(bootstrap: str, events: int) -> float:
    """The producer alone: identical pre-serialized payloads, the producer's own settings."""
    traffic = plan(Mix(rate=RATE, seed=2), START_MS, minutes_for(events) * 60_000)
    encode = EventEncoder().encode
    payloads = [(event.ip_address.encode(), encode(event)) for event in traffic.events()]
    kafka_clients.ensure_topic(bootstrap, "bench_raw", 3)
    producer = Producer(bootstrap)
    started = time.perf_counter()
    for key, value in payloads:
        producer.send("bench_raw", value, key)
    producer.flush()
    return len(payloads) / (time.perf_counter() - started)


def publish_rate(bootstrap: str, events: int, seed: int) -> tuple[float, int]:
    for topic in ("bench_events", "bench_labels"):
        kafka_clients.ensure_topic(bootstrap, topic, 3)
    traffic = plan(Mix(rate=RATE, seed=seed), START_MS, minutes_for(events) * 60_000)
    summary = publish(traffic, KafkaSink(bootstrap, "bench_events", "bench_labels"))
    return summary.rate, summary.undelivered


def backfill_rss(state_dir: Path, events: int) -> tuple[list[float], list[float], float]:
    """Runs `secmon produce --backfill` as users do and samples the RSS (MB) of the command and of
    its generator process every half second."""
    command = [
        str(Path(sys.executable).with_name("secmon")),
        "produce",
        "--backfill",
        "--rate",
        str(RATE),
        "--minutes",
        str(minutes_for(events)),
        "--start",
        "2024-01-25T00:00:00Z",
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env={**os.environ, "SECMON_STATE_DIR": str(state_dir)}, stdout=subprocess.DEVNULL)
    main_rss, generator_rss = [], []
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            main_rss.append(watched.memory_info().rss / 2**20)
            generator_rss.extend(child.memory_info().rss / 2**20 for child in watched.children())
        except psutil.NoSuchProcess:
            break
        time.sleep(0.5)
    if proc.returncode != 0:
        raise SystemExit(f"secmon produce failed with exit code {proc.returncode}")
    return main_rss, generator_rss, time.perf_counter() - started


def flatness(samples: list[float]) -> str:
    tenth = max(1, len(samples) // 10)
    return (
        f"first 10% max {max(samples[:tenth]):.0f} MB, last 10% max {max(samples[-tenth:]):.0f} MB, "
        f"max {max(samples):.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events for the speed figures")
    parser.add_argument("--rss-events", type=int, default=5_000_000, help="events for the memory figure")
    args = parser.parse_args()

    count, rate = generation_rate(args.events)
    print(f"generation alone (generate + JSON encode, one core): {rate:,.0f} events/s over {count:,} events")

    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        stack.up(state_dir, stack.StackOptions(kafka_port=29192, pg_port=25532))
        try:
            bootstrap = recorded_endpoints(state_dir).bootstrap_servers
            ceiling = raw_ceiling(bootstrap, args.events // 2)
            published, undelivered = publish_rate(bootstrap, args.events // 2, seed=3)
            print(f"raw kafka-python ceiling (pre-serialized, same settings): {ceiling:,.0f} events/s")
            print(
                f"generate + publish: {published:,.0f} events/s = {published / ceiling:.2f} x ceiling "
                f"(undelivered: {undelivered})"
            )

            main_rss, generator_rss, seconds = backfill_rss(state_dir, args.rss_events)
            print(
                f"`secmon produce --backfill` of {args.rss_events:,} events took {seconds:.0f} s; RSS of the "
                f"command: {flatness(main_rss)}; of its generator process: {flatness(generator_rss)}"
            )
        finally:
            stack.down(state_dir, purge=True)


if __name__ == "__main__":
    main()
