"""Bouncer keys: made by `add-bouncer`, shown once, kept as SHA-256 digests, revoked by name."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path

from secmon.core.files import read_json, write_json
from secmon.errors import SecmonError


def bouncers_path(state_dir: Path) -> Path:
    return state_dir / "bouncers.json"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def read_bouncers(state_dir: Path) -> dict:
    """Each bouncer's name and its entry (digest, creation time); read on each request, so that a key
    made or revoked takes effect without a restart."""
    return read_json(bouncers_path(state_dir), {})


def add_bouncer(state_dir: Path, name: str) -> str:
    """A new key for the bouncer `name`, returned once: only its digest is kept."""
    bouncers = read_bouncers(state_dir)
    if name in bouncers:
        raise SecmonError(f"bouncer {name} exists already: pick another name")
    key = secrets.token_hex(16)
    bouncers[name] = {"sha256": _digest(key), "created_at": datetime.now(UTC).isoformat()}
    state_dir.mkdir(parents=True, exist_ok=True)
    write_json(bouncers_path(state_dir), bouncers)
    return key


def revoke_bouncer(state_dir: Path, name: str) -> None:
    """Forget the bouncer `name`: its key is refused from its next request on."""
    bouncers = read_bouncers(state_dir)
    if name not in bouncers:
        raise SecmonError(f"no bouncer {name}: `secmon decisions bouncers list` shows them")
    del bouncers[name]
    write_json(bouncers_path(state_dir), bouncers)


def bouncer_named_by(key: str | None, bouncers: dict) -> str | None:
    """The bouncer whose key this is, or None; compared in constant time."""
    if not key:
        return None
    digest = _digest(key)
    return next((name for name, entry in bouncers.items() if hmac.compare_digest(entry["sha256"], digest)), None)
