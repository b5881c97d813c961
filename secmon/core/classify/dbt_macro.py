"""What the SQL models need to know of the classifier, as a generated dbt macro: the payload families
(one is_<family> column each in attack_requests) and CrowdSec's leaky buckets (their capacity, leak
and distinct field; the requests were tagged `bucket:<name>` where their line was read).

The classifier's data stays the one source (seeds, the vendored CRS and hub): `secmon patterns`
regenerates the macro, and a test fails when it is out of date.
"""

from __future__ import annotations

import json
from pathlib import Path

from secmon.core.classify.classifier import default_classifier
from secmon.core.classify.crowdsec import CrowdsecRules
from secmon.settings import PROJECT_DIR

MACRO_PATH = PROJECT_DIR / "macros" / "detections" / "pattern_lists.sql"
# The SQL of each field a bucket may count distinct values of (CrowdSec's `distinct`), over a request's columns.
DISTINCT_SQL = {
    "": "",
    "url": "url",
    "http_path": "split_part(url, '?', 1)",
    "http_args": "split_part(url, '?', 2)",
    # The path stands for its file name: a bucket counting distinct file names counts distinct paths,
    # which differ at least as often (no regex in SQL, so the last segment is not cut out here).
    "file_name": "split_part(url, '?', 1)",
    "user_agent": "user_agent",
    "status_code": "status_code",
    "http_method": "http_method",
}


def hub_buckets() -> list[list]:
    """[name, distinct SQL or '', capacity, leak seconds] of every leaky bucket of the imported hub."""
    return [
        [bucket.name, DISTINCT_SQL[bucket.distinct_field or ""], bucket.capacity, bucket.leak_seconds]
        for bucket in CrowdsecRules.load().buckets
    ]


def render_macro() -> str:
    families = json.dumps(list(default_classifier().families()))
    return (
        "{#- Generated from the classifier's data (secmon/core/classify) by `secmon patterns`: "
        "do not edit by hand. -#}\n\n"
        "{#- The payload families a request can be tagged with (`family:<name>`), sorted. -#}\n"
        "{% macro attack_families() -%}\n"
        "{{ return(" + families + ") }}\n"
        "{%- endmacro %}\n\n"
        "{#- CrowdSec hub leaky buckets (requests tagged `bucket:<name>`): [name, distinct SQL or '',\n"
        "    capacity, leak seconds]. -#}\n"
        "{% macro hub_buckets() -%}\n"
        "{{ return(" + json.dumps(hub_buckets(), indent=1) + ") }}\n"
        "{%- endmacro %}\n"
    )


def write_macro(path: Path | None = None) -> Path:
    path = path or MACRO_PATH
    path.write_text(render_macro())
    return path
