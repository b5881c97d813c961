"""The quality gate's verdicts (data/gate.csv) as the classifier reads them. The gate (gate.py) judges
the classifier and writes this file; keeping its reader apart lets each import what it needs without
an import circle."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

REPORT = Path(__file__).parent / "data" / "gate.csv"
NO_BAN_VERDICT = "noban"


@cache
def demoted(report_path: Path = REPORT) -> frozenset[str]:
    """The tags the gate demoted (verdict "noban"): they may alert, not ban. Empty before the first run."""
    if not report_path.exists():
        return frozenset()
    with report_path.open(encoding="utf-8", newline="") as report:
        return frozenset(row["tag"] for row in csv.DictReader(report) if row["verdict"] == NO_BAN_VERDICT)
