"""`secmon decisions export`: the bans as files for edges without a bouncer, never breaking what they feed.

Each file is written to a `mkstemp` file beside its target (an unpredictable name, made with
O_EXCL, so no symlink is followed), `fchmod`ed, checked by `--check` (the new file's path replaces
`{}`, or is appended), and only then `os.replace`d into place: a rename replaces a symlink at the
target, never what it points to. The reload runs after that; the digest remembered (in the state dir)
is that of the last content that reloaded, so a failed reload is retried by the next run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from secmon.core.files import read_json, write_json
from secmon.decisions.policy import Decision, as_network

log = logging.getLogger("secmon.decisions")

CHECK_TIMEOUT_S = 60


def nginx_deny(decisions: Iterable[Decision]) -> str:
    """An nginx include of `deny` lines (http, server or location context), one per banned address, in
    address order: the same bans always give the same file (and digest)."""
    lines = [
        f"deny {decision.value};  # {decision.detection}, until {decision.until:%Y-%m-%dT%H:%M:%SZ}"
        for decision in sorted(decisions, key=_address_order)
    ]
    return "# secmon decisions: written whole on each export, include it and reload nginx\n" + "".join(
        f"{line}\n" for line in lines
    )


def _address_order(decision: Decision) -> tuple:
    network = as_network(decision.value)
    return network.version, network


def nftables_sets(decisions: Iterable[Decision], table: str = "secmon") -> str:
    """An `nft -f` script that makes (once) and refills the sets `blacklist` of tables ip and ip6 `table`,
    the same job as `ipset restore`: drop from them with your own rule (`ip saddr @blacklist drop`)."""
    by_family: dict[str, list[str]] = {"ip": [], "ip6": []}
    for decision in sorted(decisions, key=_address_order):
        by_family["ip" if as_network(decision.value).version == 4 else "ip6"].append(decision.value)
    script = []
    for family, addresses in by_family.items():
        kind = "ipv4_addr" if family == "ip" else "ipv6_addr"
        script += [
            f"add table {family} {table}",
            f"add set {family} {table} blacklist {{ type {kind}; flags interval; }}",
            f"flush set {family} {table} blacklist",
        ]
        if addresses:
            script.append(f"add element {family} {table} blacklist {{ {', '.join(addresses)} }}")
    return "\n".join(script) + "\n"


def digests_path(state_dir: Path) -> Path:
    return state_dir / "exports.json"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ExportFailed(Exception):
    """A check or a reload failed: the one-line reason."""


def _run(command: str, what: str) -> None:
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)  # noqa: S602 — the user's own command line
    except subprocess.TimeoutExpired:
        raise ExportFailed(f"{what} `{command}` did not finish within {CHECK_TIMEOUT_S} s") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise ExportFailed(f"{what} `{command}` failed (exit {done.returncode}): {said[0] if said else 'no output'}")


def _checked_candidate(path: Path, text: str, check: str | None) -> Path:
    """`text` in a new file beside `path` (0644), checked; the caller renames it into place."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    candidate = Path(name)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), 0o644)  # nginx's workers and nft read it; mkstemp made it 0600
            os.fsync(handle.fileno())
        if check:
            quoted = shlex.quote(str(candidate))
            _run(check.replace("{}", quoted) if "{}" in check else f"{check} {quoted}", "check")
    except BaseException:
        candidate.unlink(missing_ok=True)
        raise
    return candidate


@dataclass
class ExportResult:
    changed: list[Path]
    reloaded: bool


def export(
    state_dir: Path, files: dict[Path, str], check: str | None = None, reload: str | None = None
) -> ExportResult:
    """Write each file whose text changed (checked first), then reload when anything differs from what
    last reloaded. ExportFailed says why a check or the reload failed; a file that failed its check
    is left as it was."""
    remembered = read_json(digests_path(state_dir), {})
    changed = []
    for path, text in files.items():
        if _current_text(path) != text:
            os.replace(_checked_candidate(path, text, check), path)
            changed.append(path)
    pending = {str(path): digest(text) for path, text in files.items() if remembered.get(str(path)) != digest(text)}
    if pending and reload:
        _run(reload, "reload")
    if pending:
        state_dir.mkdir(parents=True, exist_ok=True)
        write_json(digests_path(state_dir), {**remembered, **pending})
    return ExportResult(changed, bool(pending and reload))


def _current_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
