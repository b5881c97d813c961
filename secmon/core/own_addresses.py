"""The site's own addresses: never banned, whatever their requests look like (issue 40: a WordPress
site's own server was banned for its wp-cron self-test).

`secmon follow` keeps them in <state dir>/own-addresses.txt (own_addresses_path), one address a line
with why in a comment, the format of a `--allowlist` file; `secmon decisions` reads that file besides
`--allowlist` and reports its addresses as "the site's own address". Two sources:

- The host's addresses: every address of every interface (psutil.net_if_addrs), loopback included,
  read again every REFRESH_SECONDS (DHCP leases, IPv6 temporary addresses).
- Self-requests learned from the log. The rule: a request is the site's own when its client address,
  as the log parser resolved it (X-Forwarded-For is read only through `--trusted-proxy`), is one of
  the host's addresses or lies in a `--trusted-proxy` network: the server calling itself, or a
  balancer's own request (its health check, or a cron request that it forwarded with no client). That
  client is learned, with the last time it was seen, and forgotten after var `retention` unseen.
  The user agent is never evidence: anyone can send `WordPress/6.8`, `kube-probe/1.29` or
  `ELB-HealthChecker/2.0` from anywhere, and an address learned from it would never be banned again.
  So a self-request agent from any other address is not learned; `secmon explain` shows it as a claim
  (is_self_request_agent). A server behind NAT whose self-requests come back from its public address
  looks, in its log, exactly like a forger: give that address to `secmon decisions --allowlist`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import psutil

from secmon import settings
from secmon.core.addresses import canonical_ip
from secmon.core.files import write_text

REFRESH_SECONDS = 60.0  # the host's addresses are read again this often
SAVE_SECONDS = 60.0  # a learned address's last sighting is written at most this often
MAX_LEARNED = 1024  # the host's and its proxies' own addresses: a handful, never the clients
MAX_CACHED_CLIENTS = 65_536
# Agents that servers and health checkers send to the site: shown as claims, never trusted (see above).
SELF_REQUEST_AGENT = re.compile(
    r"WordPress/\d|kube-probe/|ELB-HealthChecker/|GoogleHC/|Amazon-Route53-Health-Check-Service"
)
LEARNED = "self-requests"  # the comment of a learned line: `<address>  # self-requests, last seen <ISO time>`
HEADER = (
    "# The site's own addresses, never banned: written by `secmon follow` (secmon/core/own_addresses.py),\n"
    "# read by `secmon decisions`. Edits are overwritten; put your own ranges in an --allowlist file.\n"
)


def own_addresses_path(state_dir: Path) -> Path:
    return state_dir / "own-addresses.txt"


def is_self_request_agent(user_agent: str | None) -> bool:
    """Whether the agent is one a server or health checker sends to its own site (a claim, not evidence)."""
    return bool(user_agent) and SELF_REQUEST_AGENT.match(user_agent) is not None


def host_addresses() -> dict[str, str]:
    """Every address of this host's interfaces (canonical, zone id dropped) → its interface's name."""
    found = {}
    for interface, entries in psutil.net_if_addrs().items():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                address = canonical_ip(entry.address.partition("%")[0])
                if address is not None:
                    found.setdefault(address, interface)
    return found


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_learned(path: Path) -> dict[str, float]:
    """The learned lines of an own-addresses file: address → when it was last seen (epoch seconds)."""
    learned = {}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return learned
    for line in lines:
        address, _, comment = (part.strip() for part in line.partition("#"))
        seen = comment.removeprefix(f"{LEARNED}, last seen ")
        if address and canonical_ip(address) == address and seen != comment:
            try:
                learned[address] = datetime.strptime(seen, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            except ValueError:
                continue
    return learned


class OwnAddresses:
    """What `secmon follow` knows of the site's own addresses, kept in own_addresses_path(state_dir).

    `observe(keys)` takes each poll's event keys (the client address, UTF-8, as `follow` publishes
    them); it learns the clients of the rule above and writes the file when an address comes or goes,
    and at most every SAVE_SECONDS otherwise."""

    def __init__(
        self,
        state_dir: Path,
        trusted: Iterable = (),
        retention_seconds: float = settings.RETENTION_MS / 1000,
        clock: Callable[[], float] = time.time,
        interfaces: Callable[[], dict[str, str]] = host_addresses,
    ) -> None:
        self.path, self.trusted = own_addresses_path(state_dir), tuple(trusted)
        self.retention_seconds, self.clock, self.interfaces = retention_seconds, clock, interfaces
        self.learned = read_learned(self.path)
        self.host: dict[str, str] = {}
        self._checked_host_at = self._saved_at = float("-inf")
        self._written: tuple = ()
        self._trusted_clients: dict[str, bool] = {}

    def is_own(self, client: str) -> bool:
        """The client is the host, or one of the trusted proxies' addresses."""
        return client in self.host or (bool(self.trusted) and self._in_trusted(client))

    def _in_trusted(self, client: str) -> bool:
        """Cached: a log repeats its clients, and parsing one costs microseconds on `follow`'s sending side."""
        known = self._trusted_clients.get(client)
        if known is None:
            address = canonical_ip(client)
            known = address == client and any(ipaddress.ip_address(address) in network for network in self.trusted)
            if len(self._trusted_clients) >= MAX_CACHED_CLIENTS:
                self._trusted_clients.clear()
            self._trusted_clients[client] = known
        return known

    def observe(self, keys: Iterable[bytes]) -> None:
        now = self.clock()
        if now - self._checked_host_at >= REFRESH_SECONDS:
            self.host, self._checked_host_at = self.interfaces(), now
        for key in set(keys):
            client = key.decode(errors="replace")
            if (client in self.learned or len(self.learned) < MAX_LEARNED) and self.is_own(client):
                self.learned[client] = now
        self.save(now)

    def save(self, now: float | None = None) -> None:
        """Write the file if an address came or went, or SAVE_SECONDS after the last write."""
        now = self.clock() if now is None else now
        self.learned = {address: seen for address, seen in self.learned.items() if now - seen < self.retention_seconds}
        addresses = (tuple(sorted(self.host)), tuple(sorted(self.learned)))
        if addresses == self._written and now - self._saved_at < SAVE_SECONDS:
            return
        lines = [f"{address}  # host interface {interface}" for address, interface in sorted(self.host.items())]
        lines += [
            f"{address}  # {LEARNED}, last seen {_iso(seen)}"
            for address, seen in sorted(self.learned.items())
            if address not in self.host
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text(self.path, HEADER + "".join(f"{line}\n" for line in lines), mode=0o644)
        self._written, self._saved_at = addresses, now
