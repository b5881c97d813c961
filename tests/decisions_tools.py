"""The real tools the decisions tests drive: Debian's crowdsec-firewall-bouncer (nftables mode) against
`secmon decisions serve`, the kernel set it fills (read back with `nft list set`), and nginx."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

BOUNCER = shutil.which("crowdsec-firewall-bouncer") or "/usr/bin/crowdsec-firewall-bouncer"
SET = "secmon-test-blacklist"
PORTS = range(28000, 29000)  # the ports the decisions tests may listen on

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(
    not os.access(NGINX, os.X_OK), reason="nginx is not installed: `make test` installs it"
)
needs_bouncer = pytest.mark.skipif(
    not os.access(BOUNCER, os.X_OK), reason="crowdsec-firewall-bouncer is not installed: `make test` installs it"
)


def nftables_usable() -> bool:
    """Whether this sandbox lets us make nftables tables (root, netlink)."""
    if not shutil.which("nft"):
        return False
    probe = f"secmon_probe_{os.getpid()}"
    made = subprocess.run(["nft", "add", "table", "ip", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["nft", "delete", "table", "ip", probe], capture_output=True)
    return made


def free_port() -> int:
    """A port of PORTS free on both 127.0.0.1 and ::1, tried in random order: other sessions on this
    machine pick from the same range."""
    for port in random.sample(PORTS, len(PORTS)):
        try:
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                with socket.socket(family) as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port in 28000-28999")


@contextmanager
def running_bouncer(folder: Path, api_url: str, key: str, table: str):
    """The real bouncer, pulling every second into the set SET of its own nftables table `table`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "bouncer.yaml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "mode": "nftables",
                "pid_dir": str(folder),
                "update_frequency": "1s",
                "daemonize": False,
                "log_mode": "file",
                "log_dir": str(folder),
                "log_level": "info",
                "api_url": api_url,
                "api_key": key,
                "disable_ipv6": True,
                "deny_action": "DROP",
                "supported_decisions_types": ["ban"],
                "blacklists_ipv4": SET,
                "nftables": {
                    "ipv4": {"enabled": True, "set-only": False, "table": table, "chain": "secmon-test-chain"},
                    "ipv6": {"enabled": False},
                },
                "prometheus": {"enabled": False},
            }
        )
    )
    process = subprocess.Popen(
        [BOUNCER, "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)
        subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)


def bouncer_log(folder: Path) -> str:
    log = folder / "crowdsec-firewall-bouncer.log"
    return log.read_text() if log.exists() else ""


ELEMENT = re.compile(r"(\d+\.\d+\.\d+\.\d+)(?: timeout (\S+))?(?: expires (\S+))?")


def go_seconds(text: str) -> float:
    """nft's `4h`, `23h59m58s`, `1d`, `3m59s250ms` in seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(number) * units[unit] for number, unit in re.findall(r"(\d+)(ms|d|h|m|s)", text))


def kernel_set(table: str) -> dict[str, float]:
    """Each address in the table's set and the seconds its element has left, as the kernel says."""
    listed = subprocess.run(["nft", "list", "set", "ip", table, SET], capture_output=True, text=True).stdout
    body = listed.partition("elements = {")[2].partition("}")[0]
    return {
        match.group(1): go_seconds(match.group(3) or match.group(2) or "0s")
        for match in ELEMENT.finditer(body.replace("\n", " "))
    }


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.2):
    """`condition()` once it is true within `timeout` seconds; fails with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(interval)


UNVERIFIED = ssl._create_unverified_context()  # the tests' self-signed certificate


def request(url: str, key: str, method: str = "GET") -> dict | None:
    """A bouncer's request to `serve`, its JSON answer (None when empty)."""
    asked = urllib.request.Request(url, headers={"X-Api-Key": key}, method=method)
    with urllib.request.urlopen(asked, timeout=5, context=UNVERIFIED) as response:
        body = response.read()
    return json.loads(body) if body else None
