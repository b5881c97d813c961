"""CrowdSec's HTTP pattern lists (MIT), shipped once as dbt seeds and read here for attack traffic
and for the detections' pattern macro (`secmon patterns`)."""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
# Lists whose upstream entries are regular expressions: Mitchell Krog's agent list escapes spaces
# (`Black\ Hole`). The detections match literal text (position(... in ...)), so such an entry is
# turned into the text it matches; the other lists are literal already (`..\` is a Windows path).
REGEX_LISTS = frozenset({"bad_user_agents"})
_ESCAPED = re.compile(r"\\(.)")


def seed_entries(name: str) -> tuple[str, ...]:
    """The `pattern` column of seeds/crowdsec_<name>.csv as upstream writes it."""
    with open(SEEDS_DIR / f"crowdsec_{name}.csv", newline="") as handle:
        return tuple(row["pattern"] for row in csv.DictReader(handle))


def literal_text(name: str, entry: str) -> str:
    """The text an entry of list `name` matches: its regex escapes resolved, for the regex lists."""
    return _ESCAPED.sub(r"\1", entry) if name in REGEX_LISTS else entry


@cache
def load(name: str) -> tuple[str, ...]:
    """The literal texts of seeds/crowdsec_<name>.csv, e.g. load("sqli_patterns")."""
    return tuple(literal_text(name, entry) for entry in seed_entries(name))
