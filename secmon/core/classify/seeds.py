"""The pattern lists of the detections (CrowdSec's HTTP lists, MIT, and our own), shipped once as
dbt seeds and read here for attack traffic and for the detections' pattern macro (`secmon patterns`)."""

from __future__ import annotations

import csv
import re
from functools import cache

from secmon.settings import PROJECT_DIR

SEEDS_DIR = PROJECT_DIR / "seeds"
# list name → its seed file (seeds/<file>.csv, a `pattern` column); see seeds/README.md for sources.
SEED_FILES = {
    "admin_interfaces": "crowdsec_admin_interfaces",
    "backdoors": "crowdsec_backdoors",
    "bad_user_agents": "crowdsec_bad_user_agents",
    "path_traversal": "crowdsec_path_traversal",
    "sensitive_files": "crowdsec_sensitive_files",
    "sqli_patterns": "crowdsec_sqli_patterns",
    "xss_patterns": "crowdsec_xss_patterns",
    "scanner_user_agents": "scanner_user_agents",
    "allowed_user_agents": "allowed_user_agents",
    "login_endpoints": "login_endpoints",
    "exploit_signatures": "exploit_signatures",
    "exposed_files": "exposed_files",
}
# Lists whose upstream entries are regular expressions: Mitchell Krog's agent list escapes spaces
# (`Black\ Hole`). The detections match literal text (position(... in ...)), so such an entry is
# turned into the text it matches; the other lists are literal already (`..\` is a Windows path).
REGEX_LISTS = frozenset({"bad_user_agents"})
_ESCAPED = re.compile(r"\\(.)")


def seed_entries(name: str) -> tuple[str, ...]:
    """The `pattern` column of list `name`'s seed as its source writes it."""
    with open(SEEDS_DIR / f"{SEED_FILES[name]}.csv", newline="") as handle:
        return tuple(row["pattern"] for row in csv.DictReader(handle))


def literal_text(name: str, entry: str) -> str:
    """The text an entry of list `name` matches: its regex escapes resolved, for the regex lists."""
    return _ESCAPED.sub(r"\1", entry) if name in REGEX_LISTS else entry


@cache
def load(name: str) -> tuple[str, ...]:
    """The literal texts of list `name`, e.g. load("sqli_patterns")."""
    return tuple(literal_text(name, entry) for entry in seed_entries(name))


# Attack families (SQL injection, XSS, …): regular expressions in the subset PostgreSQL and RisingWave
# (Rust's regex) share, matched case-insensitively against the decoded URL (macro url_decoded);
# seeds/attack_families.csv, each row with its source and licence.
FAMILIES_SEED = "attack_families"
# Families that also match a CrowdSec keyword list against the raw URL, whose entries are often
# written encoded (`%20union%20select%20`).
FAMILY_KEYWORD_LISTS = {"sqli": "sqli_patterns", "xss": "xss_patterns", "path_traversal": "path_traversal"}


@cache
def families() -> dict[str, tuple[str, ...]]:
    """family → its regular expressions, in seed order."""
    found: dict[str, list[str]] = {}
    with open(SEEDS_DIR / f"{FAMILIES_SEED}.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["family"], []).append(row["pattern"])
    return {family: tuple(patterns) for family, patterns in found.items()}


def family_regex(family: str) -> str:
    """One alternation of a family's expressions: one regex match per row and family."""
    return "|".join(f"({pattern})" for pattern in families()[family])
