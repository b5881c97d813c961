"""Only the stack's owner reaches the embedded broker.

Tansu 0.6 can require SASL (`--authentication`), but then refuses the very connection that would
create the first user, and its memory storage has no other way in: the broker cannot ask for a
password. Linux can still tell who connects over loopback: netfilter's `owner` match sees the OS
user of every locally made connection. So, when we may (root, and Debian's `iptables`), one OUTPUT
rule per address family (iptables and ip6tables: `localhost` may be ::1) rejects connections to the
broker's port from any other OS user. The broker starts listening only once both are in place, and
`down` removes them. Each rule carries a comment naming the state dir, so that only our own rule is
ever removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path


def _tag(state_dir: Path) -> str:
    return "secmon-broker-" + hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:12]


def _rule(state_dir: Path, port: int) -> list[str]:
    return [
        "OUTPUT",
        "-o",
        "lo",
        "-p",
        "tcp",
        "--dport",
        str(port),
        "-m",
        "owner",
        "!",
        "--uid-owner",
        str(os.geteuid()),
        "-m",
        "comment",
        "--comment",
        _tag(state_dir),
        "-j",
        "REJECT",
        "--reject-with",
        "tcp-reset",
    ]


# IPv4 and IPv6: Debian's `iptables` package ships both.
TOOLS = ("iptables", "ip6tables")


def _run(tool: str, *args: str) -> bool:
    executable = shutil.which(tool)
    if executable is None:
        return False
    result = subprocess.run([executable, "-w", "5", *args], capture_output=True, timeout=30)
    return result.returncode == 0


def unavailable_reason() -> str | None:
    """Why the guard cannot be set here, or None when it can."""
    if os.geteuid() != 0:
        return "not root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"no {' or '.join(missing)} (Debian package `iptables`)"
    return None


def guard(state_dir: Path, port: int) -> bool:
    """Reject every other OS user's connections to `port`, over IPv4 and IPv6; True when both rules are in place."""
    if unavailable_reason() is not None:
        return False
    rule = _rule(state_dir, port)
    return all(_run(tool, "-C", *rule) or _run(tool, "-I", *rule) for tool in TOOLS)


def guarded(state_dir: Path, port: int) -> bool:
    return unavailable_reason() is None and all(_run(tool, "-C", *_rule(state_dir, port)) for tool in TOOLS)


def unguard(state_dir: Path, port: int) -> None:
    rule = _rule(state_dir, port)
    for tool in TOOLS:
        while _run(tool, "-C", *rule) and _run(tool, "-D", *rule):
            pass
