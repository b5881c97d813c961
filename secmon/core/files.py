"""Files written whole: a reader (another process, a restart after a crash, nginx) never sees half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: Path, document, mode: int = 0o600) -> None:
    """`document` as JSON into `path`, by a rename; the file is readable by its owner alone unless `mode` says
    otherwise (state files may name addresses, positions and pids that are nobody else's business)."""
    write_text(path, json.dumps(document, indent=2) + "\n", mode)


def read_json(path: Path, default=None):
    """The document in `path`, or `default` when it is missing or not whole JSON."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def write_text(path: Path, text: str, mode: int = 0o600) -> None:
    """`text` into `path`, by a rename: a reader (another process, nginx, nft) never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(temporary, mode)  # O_CREAT's mode is masked by the umask; an existing file keeps its mode
    os.replace(temporary, path)
