"""Helpers several test modules share (test modules do not import each other)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import psutil

# Grafana's own JSON schemas (Apache-2.0), copied from grafana/grafana-foundation-sdk.
SCHEMAS = Path(__file__).parent / "grafana-schema"


def schema_validator(file: str, definition: str | None = None) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / file).read_text())
    if definition:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    return jsonschema.Draft7Validator(schema)


def error_lines(validator: jsonschema.Draft7Validator, instance) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}" for error in validator.iter_errors(instance)
    ]


def processes_mentioning(marker: str) -> list[psutil.Process]:
    """Live processes whose command line mentions `marker` (a state dir, a test's own folder)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and marker in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def gone_within(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """The processes of `processes` still alive (and not zombies) after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [proc for proc in processes if _alive(proc)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
