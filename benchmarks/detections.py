"""Detection quality: `secmon eval` on a 30-minute mixed backfill at default settings, and the
alerts raised on one million events of attack-free traffic.

Starts its own embedded stack in a temporary state dir. Run: .venv/bin/python benchmarks/detections.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from secmon import settings, stack
from secmon.core.endpoints import recorded_endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import Ingester, ensure_landing_table
from secmon.evaluate import Label, read_alerts, score
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, publish

START_MS = 1_706_184_000_000  # 2024-01-25T12:00:00Z


def run(mix: Mix, minutes: float, kafka_port: int, pg_port: int) -> tuple[dict, int]:
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        stack.up(state_dir, stack.StackOptions(kafka_port=kafka_port, pg_port=pg_port))
        try:
            endpoints = recorded_endpoints(state_dir)
            traffic = plan(mix, START_MS, int(minutes * 60_000))
            summary = publish(
                traffic, KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC)
            )
            ensure_landing_table(endpoints)
            ingester = Ingester(endpoints)
            ingester.drain()
            ingester.close()
            started = time.monotonic()
            if run_dbt(["build", "-t", "local", "--quiet"], endpoints) != 0:
                raise SystemExit("dbt build failed")
            print(f"  {summary.events:,} events; dbt build {time.monotonic() - started:.0f} s")
            labels = [
                Label(t.scenario, t.attacker_ip, t.target_username, t.first_event_ms, t.last_event_ms)
                for t in traffic.labels
            ]
            return score(labels, read_alerts(endpoints.pg_url, settings.pg_schema())), summary.events
        finally:
            stack.down(state_dir, purge=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--normal-events", type=int, default=1_000_000)
    args = parser.parse_args()

    print("30-minute mixed backfill, default settings (rate 100 events/s, three attacks per scenario):")
    result, _ = run(Mix(rate=100, seed=1), 30, 29592, 25932)
    print(f"  {'scenario':<24}{'labels':>7}{'alerts':>7}{'precision':>10}{'recall':>8}")
    for row in result["scenarios"]:
        precision = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        recall = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        print(f"  {row['scenario']:<24}{row['labels']:>7}{row['alerts']:>7}{precision:>10}{recall:>8}")
    print(f"  alerts on normal traffic: {result['alerts_on_normal_traffic']}")

    rate = 500
    # The normal rate wanders around `rate` (diurnal and bursty users): a tenth more time makes the count.
    minutes = 1.1 * args.normal_events / rate / 60
    print(f"attack-free traffic ({rate} events/s for {minutes:.0f} minutes):")
    result, events = run(Mix(rate=rate, seed=2, attacks_per_scenario=0), minutes, 29692, 26032)
    print(f"  alerts on {events:,} attack-free events: {result['alerts_on_normal_traffic']}")


if __name__ == "__main__":
    main()
