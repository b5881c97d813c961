"""The pattern seeds as a dbt macro, so that detections can match them on RisingWave.

RisingWave cannot join a stream to the pattern table on `position(pattern in url) > 0` (a
streaming nested-loop join is not supported), so the patterns are rendered into the SQL as
literals. The seeds stay the one source: `secmon patterns` regenerates the macro, and a test fails
when it is out of date.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from secmon.core import pattern_seeds
from secmon.errors import SecmonError
from secmon.settings import PROJECT_DIR

MACRO_PATH = PROJECT_DIR / "macros" / "detections" / "pattern_lists.sql"
LISTS = tuple(pattern_seeds.SEED_FILES)


def render_macro() -> str:
    entries = ",\n".join(f"    {json.dumps(name)}: {json.dumps(list(pattern_seeds.load(name)))}" for name in LISTS)
    families = ",\n".join(
        f"    {json.dumps(family)}: {json.dumps(pattern_seeds.family_regex(family))}"
        for family in pattern_seeds.families()
    )
    keyword_lists = json.dumps(pattern_seeds.FAMILY_KEYWORD_LISTS)
    return (
        "{#- Generated from the pattern seeds (secmon/core/pattern_seeds.py) by `secmon patterns`: "
        "do not edit by hand. -#}\n"
        "{% macro pattern_list(name) -%}\n"
        "{{ return({\n" + entries + "\n}[name]) }}\n"
        "{%- endmacro %}\n\n"
        "{#- An attack family's regular expressions as one alternation (seeds/attack_families.csv). -#}\n"
        "{% macro family_regex(name) -%}\n"
        "{{ return({\n" + families + "\n}[name]) }}\n"
        "{%- endmacro %}\n\n"
        "{#- The attack families, in seed order. -#}\n"
        "{% macro attack_families() -%}\n"
        "{{ return(" + json.dumps(list(pattern_seeds.families())) + ") }}\n"
        "{%- endmacro %}\n\n"
        "{#- CrowdSec hub signatures (seeds/crowdsec_hub_signatures.csv): [name, CVE, SQL condition]. -#}\n"
        "{% macro hub_signatures() -%}\n"
        "{{ return(" + json.dumps(hub_signatures(), indent=1) + ") }}\n"
        "{%- endmacro %}\n\n"
        "{#- CrowdSec hub leaky buckets (the same seed, kind bucket): [name, SQL condition, distinct SQL or '',\n"
        "    capacity, leak seconds]. -#}\n"
        "{% macro hub_buckets() -%}\n"
        "{{ return(" + json.dumps(hub_buckets(), indent=1) + ") }}\n"
        "{%- endmacro %}\n\n"
        "{#- The CrowdSec keyword list a family also matches on the raw URL, if any. -#}\n"
        "{% macro family_keyword_list(name) -%}\n"
        "{{ return(" + keyword_lists + ".get(name)) }}\n"
        "{%- endmacro %}\n"
    )


HUB_SEED = PROJECT_DIR / "seeds" / "crowdsec_hub_signatures.csv"


def import_hub(hub: Path, seed: Path | None = None) -> tuple[Path, str]:
    """The hub's signatures → the seed, and the report of what was not translated beside it."""
    from secmon.crowdsec_hub import hub_commit, read_hub, report, seed_csv

    seed = seed or HUB_SEED
    try:
        signatures, refused = read_hub(hub)
    except FileNotFoundError as exc:
        raise SecmonError(str(exc)) from None
    seed.write_text(seed_csv(signatures, hub_commit(hub)))
    text = report(signatures, refused)
    seed.with_suffix(".report.txt").write_text(text)
    return seed, text


def hub_rows() -> list[dict[str, str]]:
    if not HUB_SEED.exists():
        return []
    with open(HUB_SEED, newline="") as handle:
        return list(csv.DictReader(handle))


def hub_signatures() -> list[list[str]]:
    """[name, cve, condition] of every one-request hub signature in the seed."""
    return [[row["name"], row["cve"], row["condition"]] for row in hub_rows() if row["kind"] != "bucket"]


def hub_buckets() -> list[list]:
    """[name, condition, distinct, capacity, leak seconds] of every hub leaky bucket in the seed."""
    return [
        [row["name"], row["condition"], row["distinct_field"], int(row["capacity"]), float(row["leak_seconds"])]
        for row in hub_rows()
        if row["kind"] == "bucket"
    ]


def write_macro(path: Path | None = None) -> Path:
    path = path or MACRO_PATH
    path.write_text(render_macro())
    return path
