"""`secmon decisions`: alerts become ban decisions that CrowdSec's bouncers enforce, unchanged.

A detection's alert on an IP bans it when its severity is one of var `ban_severities` (high, critical)
or its yml says `meta.ban: true`; the ban lasts var `ban_durations[severity]` from the end of the
alert's window, and a later alert extends it. The decisions are read from `security_alerts` on each
pull, so they follow the alerts on both engines (the local PostgreSQL, or RisingWave at its
PostgreSQL port) with nothing to keep in sync.

`serve` answers the part of CrowdSec's local API that bouncers use (pkg/models/localapi_swagger.yaml
of crowdsecurity/crowdsec): `GET /v1/decisions/stream` (`startup=true` for the whole list, then what
is new and what was deleted since the bouncer's last pull) and `GET /v1/decisions?ip=`, with the
bouncer's key in `X-Api-Key`. Keys are made by `add-bouncer`, shown once, and stored as SHA-256
digests. An allowlist (private, loopback and link-local ranges, `--trusted-proxy`, var
`decision_allowlist`) is never banned: a ban of the site's own proxy would take the site down.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg2
from psycopg2 import sql

from secmon import settings
from secmon.core.files import read_json, write_json
from secmon.errors import SecmonError

ORIGIN = "secmon"
DECISION_TYPE = "ban"
SCOPE = "Ip"  # CrowdSec's scope name for one address


def bouncers_path(state_dir: Path) -> Path:
    return state_dir / "bouncers.json"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_bouncer(state_dir: Path, name: str) -> str:
    """A new key for the bouncer `name`, returned once: only its digest is kept."""
    bouncers = read_json(bouncers_path(state_dir), {})
    if name in bouncers:
        raise SecmonError(f"bouncer {name} exists already: pick another name")
    key = secrets.token_hex(16)
    bouncers[name] = {"sha256": _digest(key), "created_at": datetime.now(UTC).isoformat()}
    state_dir.mkdir(parents=True, exist_ok=True)
    write_json(bouncers_path(state_dir), bouncers)
    return key


def bouncer_named_by(key: str | None, bouncers: dict) -> str | None:
    """The bouncer whose key this is, or None; compared in constant time."""
    if not key:
        return None
    digest = _digest(key)
    return next((name for name, entry in bouncers.items() if hmac.compare_digest(entry["sha256"], digest)), None)


# Never banned by default: private (RFC 1918, shared address space, unique local), loopback, link-local
# and unspecified ranges, where a site's own proxies, balancers and monitoring live. Not Python's
# `is_private`, which also holds the documentation ranges (TEST-NET) that are public to a firewall.
DEFAULT_ALLOWLIST = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "0.0.0.0/32",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "::/128",
)


class Allowlist:
    """Addresses never banned: DEFAULT_ALLOWLIST, the trusted proxies and var `decision_allowlist`."""

    def __init__(self, networks: Iterable = ()) -> None:
        self.networks = [ipaddress.ip_network(network, strict=False) for network in (*DEFAULT_ALLOWLIST, *networks)]

    @classmethod
    def from_settings(cls, trusted_proxies: Iterable = ()) -> Allowlist:
        """With var `decision_allowlist` and the `--trusted-proxy` networks (checked by the CLI)."""
        configured = settings.dbt_vars().get("decision_allowlist", [])
        for cidr in configured:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise SecmonError(f"var decision_allowlist: {cidr!r} is not an IP address or CIDR range") from None
        return cls([*configured, *trusted_proxies])

    def reason(self, address: str) -> str | None:
        """Why `address` may not be banned, or None when it may."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return "not an IP address"
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:10.1.2.3 is 10.1.2.3
        network = next((network for network in self.networks if ip in network), None)
        return f"in the allowlist ({network})" if network is not None else None


@dataclass(frozen=True)
class BanPolicy:
    severities: frozenset[str]
    durations: dict[str, timedelta]
    flagged: frozenset[str]  # detections whose alerts ban whatever their severity

    @classmethod
    def from_project(cls) -> BanPolicy:
        from secmon.manifest import detections

        variables = settings.dbt_vars()
        return cls(
            frozenset(variables["ban_severities"]),
            {
                severity: timedelta(milliseconds=settings.interval_ms(text))
                for severity, text in variables["ban_durations"].items()
            },
            frozenset(detection.name for detection in detections() if detection.ban),
        )

    def duration(self, detection: str, severity: str) -> timedelta | None:
        if severity in self.severities or detection in self.flagged:
            return self.durations[severity]
        return None


@dataclass(frozen=True)
class Decision:
    ip: str
    detection: str
    until: datetime

    @property
    def id(self) -> int:
        """Stable for one ban (an address until a time), as CrowdSec's row id is for one decision."""
        return int.from_bytes(hashlib.sha256(f"{self.ip}|{self.until.isoformat()}".encode()).digest()[:6], "big")

    def to_json(self, now: datetime) -> dict:
        """As CrowdSec's Decision (localapi_swagger.yaml): `duration` is what is left, Go-style."""
        left = max(0, int((self.until - now).total_seconds()))
        return {
            "id": self.id,
            "origin": ORIGIN,
            "type": DECISION_TYPE,
            "scope": SCOPE,
            "value": self.ip,
            "duration": f"{left // 3600}h{left % 3600 // 60}m{left % 60}s",
            "until": self.until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scenario": f"{ORIGIN}/{self.detection}",
            "simulated": False,
        }


def active_decisions(conn, schema: str, policy: BanPolicy, allowlist: Allowlist, now: datetime) -> dict[str, Decision]:
    """The bans in force at `now`, one per address (the latest-ending alert's), allowlisted ones left out."""
    longest = max(policy.durations.values())
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "select entity, detection, severity, max(window_end) from {}.{} "
                "where entity_type = 'ip' and window_end > %s group by entity, detection, severity"
            ).format(sql.Identifier(schema), sql.Identifier(settings.ALERTS_TABLE)),
            (now - longest,),
        )
        rows = cur.fetchall()
    conn.rollback()
    return decisions_from_alerts(rows, policy, allowlist, now)


def decisions_from_alerts(
    alerts: Iterable[tuple[str, str, str, datetime]], policy: BanPolicy, allowlist: Allowlist, now: datetime
) -> dict[str, Decision]:
    """(ip, detection, severity, window_end) alerts → the bans in force at `now`, one per address."""
    decisions: dict[str, Decision] = {}
    for ip, detection, severity, window_end in alerts:
        duration = policy.duration(detection, severity)
        if duration is None or allowlist.reason(ip) is not None:
            continue
        until = window_end + duration
        if until > now and (ip not in decisions or until > decisions[ip].until):
            decisions[ip] = Decision(ip, detection, until)
    return decisions


class DecisionStream:
    """What each bouncer was sent, so that a pull returns what is new and what was deleted since its last."""

    def __init__(self) -> None:
        self.sent: dict[str, dict[str, Decision]] = {}
        self.lock = threading.Lock()

    def pull(self, bouncer: str, startup: bool, current: dict[str, Decision], now: datetime) -> dict:
        with self.lock:
            before = {} if startup else self.sent.get(bouncer, {})
            new = [decision for ip, decision in current.items() if before.get(ip) != decision]
            deleted = [decision for ip, decision in before.items() if ip not in current]
            self.sent[bouncer] = dict(current)
        return {
            "new": [decision.to_json(now) for decision in new],
            "deleted": [decision.to_json(now) for decision in deleted],
        }


class DecisionServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, pg_url: str, schema: str, state_dir: Path, policy: BanPolicy, allowlist: Allowlist):
        super().__init__(address, _Handler)
        self.pg_url, self.schema, self.state_dir = pg_url, schema, state_dir
        self.policy, self.allowlist = policy, allowlist
        self.stream = DecisionStream()
        # One connection for every request (each request has a thread of its own), reopened after a failure.
        self.conn = None
        self.conn_lock = threading.Lock()
        # What each authorised request was answered: (bouncer, path, the addresses sent as new, as deleted).
        self.pulls: list[tuple[str, str, list[str], list[str]]] = []

    def record(self, bouncer: str, path: str, answer: dict) -> None:
        values = {part: [decision["value"] for decision in answer[part]] for part in ("new", "deleted")}
        self.pulls.append((bouncer, path, values["new"], values["deleted"]))
        del self.pulls[:-1000]  # the newest only: bouncers pull every few seconds for months

    def current(self) -> tuple[dict[str, Decision], datetime]:
        with self.conn_lock:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg2.connect(self.pg_url)
            now = datetime.now(UTC)
            try:
                return active_decisions(self.conn, self.schema, self.policy, self.allowlist, now), now
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.conn.close()  # the next request connects again
                raise

    def server_close(self) -> None:
        super().server_close()
        if self.conn is not None:
            self.conn.close()


class _Handler(BaseHTTPRequestHandler):
    server: DecisionServer
    server_version = "secmon-decisions"

    def log_message(self, format, *args) -> None:  # noqa: A002 — BaseHTTPRequestHandler's signature
        pass  # the bouncers poll every few seconds: no line per request

    def _reply(self, status: int, document, head_only: bool = False) -> None:
        body = json.dumps(document, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _serve(self, head_only: bool) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        # Read on each request, so that a key made by `add-bouncer` works without a restart.
        bouncer = bouncer_named_by(self.headers.get("X-Api-Key"), read_json(bouncers_path(self.server.state_dir), {}))
        if bouncer is None:
            self._reply(403, {"message": "access forbidden"}, head_only)
            return
        try:
            current, now = self.server.current()
        except psycopg2.Error as exc:
            self._reply(500, {"message": f"the alerts are not readable: {str(exc).strip().splitlines()[0]}"}, head_only)
            return
        if url.path.rstrip("/") == "/v1/decisions/stream":
            startup = query.get("startup", ["false"])[0].lower() == "true"
            answer = self.server.stream.pull(bouncer, startup, current, now)
            self.server.record(bouncer, self.path, answer)
            self._reply(200, answer, head_only)
        elif url.path.rstrip("/") == "/v1/decisions":
            wanted = query.get("ip", query.get("value", [None]))[0]
            matches = [d.to_json(now) for ip, d in current.items() if wanted in (None, ip)]
            self._reply(200, matches or None, head_only)  # CrowdSec answers null when none
        else:
            self._reply(404, {"message": f"{url.path}: not part of the bouncers' API"}, head_only)

    def do_GET(self) -> None:  # noqa: N802 — BaseHTTPRequestHandler's naming
        self._serve(head_only=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head_only=True)


def make_server(
    listen: str,
    pg_url: str,
    state_dir: Path,
    schema: str | None = None,
    trusted_proxies: Iterable[str] = (),
    certificate: Path | None = None,
    private_key: Path | None = None,
) -> DecisionServer:
    """The decisions endpoint on `listen` (HOST:PORT), TLS when given a certificate."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise SecmonError(f"--listen {listen}: expected HOST:PORT")
    server = DecisionServer(
        (host.strip("[]"), int(port)),
        pg_url,
        schema or settings.pg_schema(),
        state_dir,
        BanPolicy.from_project(),
        Allowlist.from_settings(trusted_proxies),
    )
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, private_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def nginx_deny(decisions: Iterable[Decision]) -> str:
    """An nginx include of `deny` lines (http, server or location context), one per banned address."""
    lines = [
        f"deny {decision.ip};  # {decision.detection}, until {decision.until:%Y-%m-%dT%H:%M:%SZ}"
        for decision in decisions
    ]
    return "# secmon decisions: written whole on each export, include it and reload nginx\n" + "".join(
        f"{line}\n" for line in lines
    )


def nftables_sets(decisions: Iterable[Decision], table: str = "secmon") -> str:
    """An `nft -f` script that makes (once) and refills the sets `blacklist` of tables ip and ip6 `table`,
    the same job as `ipset restore`: drop from them with your own rule (`ip saddr @blacklist drop`)."""
    by_family: dict[str, list[str]] = {"ip": [], "ip6": []}
    for decision in decisions:
        by_family["ip" if ipaddress.ip_address(decision.ip).version == 4 else "ip6"].append(decision.ip)
    script = []
    for family, addresses in by_family.items():
        kind = "ipv4_addr" if family == "ip" else "ipv6_addr"
        script += [
            f"add table {family} {table}",
            f"add set {family} {table} blacklist {{ type {kind}; }}",
            f"flush set {family} {table} blacklist",
        ]
        if addresses:
            script.append(f"add element {family} {table} blacklist {{ {', '.join(sorted(addresses))} }}")
    return "\n".join(script) + "\n"
