"""Realtime producer memory: `secmon produce --rate 2000 --duration 0` (until stopped) against its own
embedded broker for --minutes (default 10); prints the producer's RSS (its process and its generator
child) every 30 s, and the last sample as a ratio of the one at the first minute.

Run: .venv/bin/python benchmarks/produce_realtime.py --minutes 10
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from secmon import stack

RATE = 2000
SAMPLE_SECONDS = 30


def tree_rss_mb(process: psutil.Process) -> float:
    processes = [process, *process.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        stack.up(state_dir, stack.StackOptions(kafka_port=29392, pg_port=25732))
        try:
            producer = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("secmon")),
                    "produce",
                    "--rate",
                    str(RATE),
                    "--duration",
                    "0",
                    "--state-dir",
                    str(state_dir),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            process = psutil.Process(producer.pid)
            started = time.monotonic()
            samples: list[tuple[float, float]] = []
            try:
                while time.monotonic() - started < args.minutes * 60:
                    time.sleep(SAMPLE_SECONDS)
                    if producer.poll() is not None:
                        raise SystemExit(f"the producer exited with {producer.returncode}")
                    samples.append(((time.monotonic() - started) / 60, tree_rss_mb(process)))
                    print(f"  {samples[-1][0]:5.1f} min: producer RSS {samples[-1][1]:.0f} MB", flush=True)
            finally:
                producer.terminate()
                producer.wait(30)
            first_minute = (
                next(rss for minutes, rss in samples if minutes >= 1.0) if samples[-1][0] >= 1 else samples[0][1]
            )
            print(
                f"realtime producer at {RATE:,} events/s for {args.minutes:g} min: RSS {first_minute:.0f} MB at 1 min, "
                f"{samples[-1][1]:.0f} MB at the end = {samples[-1][1] / first_minute:.2f} x, "
                f"peak {max(rss for _, rss in samples):.0f} MB"
            )
        finally:
            stack.down(state_dir, purge=True)


if __name__ == "__main__":
    main()
