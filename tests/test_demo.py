"""`secmon demo` end to end on a stack of its own: its live phase shows a first summary within 15 s
and keeps updating it while traffic flows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from secmon import stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECMON = str(Path(sys.executable).with_name("secmon"))
LIVE_LINE = re.compile(r"^live \+(\d+) s \| ([\d,]+) live events.*\| lag ([\d,]+) events, ([\d.]+) s$")


def test_the_live_phase_shows_a_summary_within_15_s_and_updates_it(tmp_path, stack_options):
    options = stack_options()
    state_dir = tmp_path / "state"
    try:
        result = subprocess.run(
            [
                SECMON,
                "demo",
                "--state-dir",
                str(state_dir),
                "--backfill-minutes",
                "1",
                "--rate",
                "50",
                "--duration",
                "25",
                "--kafka-port",
                str(options.kafka_port),
                "--pg-port",
                str(options.pg_port),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stack.down(state_dir, purge=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    updates = [LIVE_LINE.match(line.strip()) for line in result.stdout.splitlines()]
    updates = [(int(match[1]), int(match[2].replace(",", ""))) for match in updates if match]
    assert len(updates) >= 3, result.stdout[-3000:]
    assert updates[0][0] <= 15, f"first live summary {updates[0][0]} s after the live phase started"
    seconds, events = zip(*updates)
    assert list(events) == sorted(events) and events[-1] > events[0]
    assert max(b - a for a, b in zip(seconds, seconds[1:])) <= 10  # updates throughout, not once
