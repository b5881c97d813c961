"""The detection models and their severities, read from models/detections/*.sql.

Each detection declares its name and severity once, in its `alert_columns(...)` call; dashboards
and Grafana alert rules are generated from that, so a new detection file needs nothing else.
"""

from __future__ import annotations

import functools
import re

import yaml
from typing import NamedTuple

from secmon import settings
from secmon.errors import SecmonError

DETECTIONS_DIR = settings.PROJECT_DIR / "models" / "detections"
HIGH_SEVERITIES = ("high", "critical")
_ALERT_COLUMNS = re.compile(r"alert_columns\(\s*'(?P<name>\w+)'\s*,\s*'(?P<severity>\w+)'")


class Detection(NamedTuple):
    name: str
    severity: str
    description: str


@functools.cache
def detections() -> tuple[Detection, ...]:
    """Every detection model, by name (read once per process)."""
    descriptions = {model["name"]: " ".join(model.get("description", "").split())
                    for model in yaml.safe_load((DETECTIONS_DIR / "_detections__models.yml").read_text())["models"]}
    found = []
    for path in sorted(DETECTIONS_DIR.glob("*.sql")):
        match = _ALERT_COLUMNS.search(path.read_text())
        if match is None:
            continue  # security_alerts, the union of the others
        if match["name"] != path.stem:
            raise SecmonError(f"{path}: alert_columns names detection {match['name']!r}, not {path.stem!r}")
        found.append(Detection(path.stem, match["severity"], descriptions.get(path.stem, "")))
    return tuple(found)
