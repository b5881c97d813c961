"""The JSON files in which long-running commands (`secmon stream`, `secmon follow`) tell
`secmon status` how they are doing."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from secmon.core.files import read_json, write_json


def write(path: Path, status) -> None:
    """`status` (a dataclass with an `updated_at`) to `path`, stamped with the time."""
    status.updated_at = time.time()
    write_json(path, asdict(status))


def read(path: Path) -> dict | None:
    return read_json(path)
