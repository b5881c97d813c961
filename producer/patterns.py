"""CrowdSec's HTTP pattern lists (MIT), shipped once as dbt seeds and read here for attack traffic."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


@cache
def load(name: str) -> tuple[str, ...]:
    """The `pattern` column of seeds/crowdsec_<name>.csv, e.g. load("sqli_patterns")."""
    with open(SEEDS_DIR / f"crowdsec_{name}.csv", newline="") as handle:
        return tuple(row["pattern"] for row in csv.DictReader(handle))
