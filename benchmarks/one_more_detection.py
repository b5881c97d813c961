"""What one more pattern detection costs the local engine, in one run: the median cycle time at
2,000 events/s with the project as it is (A) and with one more family detection (B), an analyst's
one-line model over the classified requests, run A B B A after a warm-up run that counts for
neither, so that a drift of the machine falls evenly on both. The extra detection's own median
refresh time is printed too: the A/B difference is within the machine's noise, its own time is not.
Goal: B's median cycle within 3% of A's. The detections are refreshed in the background, off the
cycle, so the work of the window-close views per minute of traffic is compared as well.

The extra detection lives in a copy of the project (SECMON_PROJECT_DIR's way), never in this tree.
Run: .venv/bin/python benchmarks/one_more_detection.py (`--seconds` per run, default 45).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import stream as stream_benchmark

from secmon import settings, stack
from secmon.core.endpoints import recorded_endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import ensure_landing_table
from secmon.manifest import models as project_models

EXTRA = "bench_command_injection_probing"
EXTRA_SQL = (
    "{{ config(meta={'severity': 'high', 'entity': 'ip'}) }}\n"
    "{{ family_probing('command_injection', '5 minutes', 2) }}\n"
)
PROJECT_PARTS = ("models", "macros", "seeds", "dbt_project.yml", "profiles.yml")


def project_with_one_more_detection(into: Path) -> Path:
    for part in PROJECT_PARTS:
        source = settings.PROJECT_DIR / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, into / part)
    (into / "models" / "detections" / f"{EXTRA}.sql").write_text(EXTRA_SQL)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=45, help="live seconds per run")
    args = parser.parse_args()
    original = settings.PROJECT_DIR
    with tempfile.TemporaryDirectory() as tmp:
        state_dir, copy = Path(tmp) / "state", project_with_one_more_detection(Path(tmp) / "project")
        stack.up(state_dir, stack.StackOptions(kafka_port=29392, pg_port=25732))
        try:
            endpoints = recorded_endpoints(state_dir)
            ensure_landing_table(endpoints)
            now_ms = int(time.time() * 1000)
            rate, minutes = stream_benchmark.LIVE_RATE, stream_benchmark.OPEN_WINDOWS_MINUTES
            stream_benchmark.add_history(endpoints, rate, now_ms - minutes * 60_000, now_ms)
            settings.PROJECT_DIR = copy
            if run_dbt(["run", "-t", "local", "--quiet", "-s", EXTRA], endpoints) != 0:
                raise SystemExit(f"dbt run -s {EXTRA} failed")
            cycles: dict[str, list[float]] = {"A": [], "B": [], "warm-up": []}
            window_work: dict[str, list[float]] = {"A": [], "B": [], "warm-up": []}  # seconds per minute
            # The first run after a rebuild is slow (cold caches, fresh statistics): it counts for neither.
            for variant in ("warm-up", *"ABBA"):
                settings.PROJECT_DIR = copy if variant == "B" else original
                run_dir = state_dir.parent / f"run-{variant}"  # its own compiled project
                run_dir.mkdir(exist_ok=True)
                (run_dir / "stack.json").write_text((state_dir / "stack.json").read_text())
                run = stream_benchmark.live(endpoints, run_dir, rate, args.seconds)
                cycles[variant] += run.cycles
                closing = {name for name, model in project_models(settings.PROJECT_DIR).items() if model.closes_windows}
                window_work[variant].append(
                    sum(sum(run.view_seconds.get(name, [])) for name in closing) * 60 / args.seconds
                )
                print(
                    f"  {variant}: {len(run.cycles)} cycles, median {statistics.median(run.cycles):.3f} s, "
                    f"window-close views {window_work[variant][-1]:.2f} s per minute"
                    + (f", {EXTRA} median {statistics.median(run.view_seconds[EXTRA]) * 1000:.0f} ms"
                       if variant == "B" else "")
                )  # fmt: skip
            settings.PROJECT_DIR = original
            base, more = statistics.median(cycles["A"]), statistics.median(cycles["B"])
            print(
                f"median cycle at {rate:,} events/s: {base:.3f} s as it is, {more:.3f} s with one more detection "
                f"= {more / base:.3f} x ({(more / base - 1) * 100:+.1f}%; goal within 3%)"
            )
            base, more = statistics.fmean(window_work["A"]), statistics.fmean(window_work["B"])
            print(
                f"window-close views' work per minute of traffic: {base:.2f} s as it is, {more:.2f} s with one more "
                f"detection = {more / base:.3f} x"
            )
        finally:
            settings.PROJECT_DIR = original
            stack.down(state_dir, purge=True)


if __name__ == "__main__":
    main()
