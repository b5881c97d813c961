"""The JSON files in which long-running commands (`secmon stream`, `secmon follow`) tell
`secmon status` how they are doing: written whole by a rename, so a reader never sees half of one."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path


def write(path: Path, status) -> None:
    """`status` (a dataclass with an `updated_at`) to `path`, stamped with the time."""
    status.updated_at = time.time()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(status)))
    os.replace(temporary, path)


def read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
