"""Which alerts ban which address, until when: the bans in force, whatever reads them (serve, list, export).

A detection's alert on an IP bans it when its severity is one of var `ban_severities` (high, critical)
or its yml says `meta.ban: true` (`false`: never); the ban lasts var `ban_durations[severity]` from the end of the
alert's window, and a later alert extends it. The decisions are read from `security_alerts` on each
pull, so they follow the alerts on both engines (the local PostgreSQL, or RisingWave at its
PostgreSQL port) with nothing to keep in sync.

Every alert entity is checked again here, whatever the ingester checked (issue 36): other shippers
publish to the topic too, and one entity that a firewall cannot parse (`1::1%x;}`) would make nginx,
`nft -f` or a bouncer's whole batch fail. A refused entity is logged once, in one line, with why.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg2 import sql

from secmon import settings
from secmon.core.addresses import canonical_ip
from secmon.errors import SecmonError

log = logging.getLogger("secmon.decisions")

ORIGIN = "secmon"
DECISION_TYPE = "ban"


def canonical_entity(text: str) -> str:
    """`text` as the one spelling every firewall reads: an address (secmon.core.addresses, as the
    ingester stores clients) or a CIDR range, lower case and compressed, IPv4-mapped written as IPv4.
    ValueError says why it is refused."""
    if not isinstance(text, str) or not text or text != text.strip():
        raise ValueError("not an IP address or CIDR range")
    if "%" in text:  # Python's ipaddress takes IPv6 zone ids (`1::1%x;}`); no firewall does
        raise ValueError("an IPv6 zone id is not an address a firewall can ban")
    if "/" not in text:
        if (address := canonical_ip(text)) is None:
            raise ValueError("not an IP address or CIDR range")
        return address
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("not an IP address or CIDR range") from None
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        return str(ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False))
    return str(network)


def as_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A canonical entity (an address is its /32 or /128) as a network, to compare ranges."""
    return ipaddress.ip_network(value, strict=False)


def refuse(entity, reason: str, logged: set[str] | None = None) -> None:
    """Log in one line that `entity` is never a decision, and why: once per entity in `logged` (a
    server pulled every second would repeat it), every time without."""
    shown = repr(entity)[:120]
    if logged is None or shown not in logged:
        log.warning("alert entity %s refused: %s", shown, reason)
        if logged is not None:
            logged.add(shown)


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


_project_var: tuple[int, list] = (-1, [])  # (dbt_project.yml's mtime, its decision_allowlist then)


def _project_allowlist() -> list:
    """Var `decision_allowlist` as dbt_project.yml says now (settings caches the file for the process;
    parsing it takes 8 ms, so it is parsed again only when it changed)."""
    global _project_var
    stamp = (settings.PROJECT_DIR / "dbt_project.yml").stat().st_mtime_ns
    if stamp != _project_var[0]:
        _project_var = (stamp, settings.dbt_project.__wrapped__()["vars"].get("decision_allowlist") or [])
    return _project_var[1]


def _file_entries(path: Path) -> list[str]:
    """The ranges of an allowlist file: one a line, `#` starts a comment; a missing file is empty."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [entry for line in text.splitlines() if (entry := line.partition("#")[0].strip())]


class Allowlist:
    """Addresses never banned: DEFAULT_ALLOWLIST, the trusted proxies and var `decision_allowlist`, and
    the site's own addresses (`own`, reported as such: secmon.core.own_addresses)."""

    def __init__(self, networks: Iterable = (), own: Iterable = ()) -> None:
        self.networks = [ipaddress.ip_network(network, strict=False) for network in (*DEFAULT_ALLOWLIST, *networks)]
        self.own = [ipaddress.ip_network(network, strict=False) for network in own]

    @classmethod
    def from_settings(
        cls, trusted_proxies: Iterable = (), allowlist_file: Path | None = None, own_addresses_file: Path | None = None
    ) -> Allowlist:
        """With var `decision_allowlist` (as dbt_project.yml says now, not the cached copy), the
        `--trusted-proxy` networks (checked by the CLI), the `--allowlist` file, one range a line, and
        the file of the site's own addresses that `secmon follow` writes (own_addresses_path)."""
        configured = [
            *_project_allowlist(),
            *(_file_entries(allowlist_file) if allowlist_file is not None else []),
        ]
        own = _file_entries(own_addresses_file) if own_addresses_file is not None else []
        for cidr in (*configured, *own):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise SecmonError(f"decision allowlist: {cidr!r} is not an IP address or CIDR range") from None
        return cls([*configured, *trusted_proxies], own)

    def reason(self, address: str) -> str | None:
        """Why `address` (an address or a range) may not be banned, or None when it may."""
        try:
            network = as_network(canonical_entity(address))
        except ValueError as exc:
            return str(exc)
        if (own := _overlapping(network, self.own)) is not None:
            return f"the site's own address ({own})"
        allowed = _overlapping(network, self.networks)
        return f"in the allowlist ({allowed})" if allowed is not None else None


def _overlapping(network, networks: list):
    return next((other for other in networks if other.version == network.version and network.overlaps(other)), None)


# Detections that say only that a client crawls, or how it names itself: when its agent claims a search
# engine's crawler that DNS could not verify, such an alert alone does not ban (secmon.decisions.crawlers).
CRAWLER_ONLY_DETECTIONS = frozenset({"aggressive_crawling", "bad_user_agent", "scanner_user_agent"})


@dataclass(frozen=True)
class BanPolicy:
    severities: frozenset[str]
    durations: dict[str, timedelta]
    flagged: frozenset[str]  # detections whose alerts ban whatever their severity (meta.ban: true)
    crawler_only: frozenset[str] = CRAWLER_ONLY_DETECTIONS
    never: frozenset[str] = frozenset()  # detections whose alerts never ban (meta.ban: false)

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
            frozenset(detection.name for detection in detections() if detection.ban is True),
            never=frozenset(detection.name for detection in detections() if detection.ban is False),
        )

    def duration(self, detection: str, severity: str) -> timedelta | None:
        if detection in self.never:
            return None
        if severity in self.severities or detection in self.flagged:
            return self.durations[severity]
        return None

    def why(self, detection: str, severity: str) -> str:
        """In words, whether and why an alert of `detection` at `severity` bans (secmon explain)."""
        severities = ", ".join(sorted(self.severities))
        if detection in self.never:
            return f"{detection}'s yml says meta.ban: false (it alerts, it never bans on its own)"
        if severity in self.severities:
            return f"severity {severity} is one of var ban_severities ({severities})"
        if detection in self.flagged:
            return f"{detection}'s yml says meta.ban: true"
        return f"severity {severity} is not one of var ban_severities ({severities}) and meta.ban is not set"


def go_duration(seconds: float) -> str:
    """Go's time.Duration text (what bouncers parse with time.ParseDuration), in whole seconds
    rounded away from zero: a ban with 0.4 s left is `0h0m1s`, never `0h0m0s`, which ipset and
    nftables read as *no timeout*."""
    whole = max(1, math.ceil(abs(seconds)))
    sign = "-" if seconds < 0 else ""
    return f"{sign}{whole // 3600}h{whole % 3600 // 60}m{whole % 60}s"


@dataclass(frozen=True)
class Decision:
    value: str  # canonical_entity()
    detection: str
    until: datetime

    @property
    def id(self) -> int:
        """Stable for one ban (an address until a time), as CrowdSec's row id is for one decision."""
        return int.from_bytes(hashlib.sha256(f"{self.value}|{self.until.isoformat()}".encode()).digest()[:6], "big")

    @property
    def scope(self) -> str:
        return "Range" if "/" in self.value else "Ip"  # CrowdSec's scope names (pkg/types/constants.go)

    @property
    def scenario(self) -> str:
        return f"{ORIGIN}/{self.detection}"

    def to_json(self, now: datetime, ends: datetime | None = None) -> dict:
        """As CrowdSec's Decision (localapi_swagger.yaml): `duration` is what is left, Go-style, negative
        once over, as CrowdSec's FormatDecisions writes `Until.Sub(now)`. A decision deleted before its
        time `ends` then, as CrowdSec's soft delete sets `until` to the time of the deletion."""
        ends = ends or self.until
        return {
            "id": self.id,
            "origin": ORIGIN,
            "type": DECISION_TYPE,
            "scope": self.scope,
            "value": self.value,
            "duration": go_duration((ends - now).total_seconds()),
            "until": ends.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scenario": self.scenario,
            "simulated": False,
        }


def read_alerts(conn, schema: str, policy: BanPolicy, now: datetime) -> list[tuple]:
    """(entity, detection, severity, latest window start, latest window end) of each IP alert whose
    ban may still run at `now`."""
    longest = max(policy.durations.values())
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "select entity, detection, severity, max(window_start), max(window_end) from {}.{} "
                "where entity_type = 'ip' and window_end > %s group by entity, detection, severity"
            ).format(sql.Identifier(schema), sql.Identifier(settings.ALERTS_TABLE)),
            (now - longest,),
        )
        rows = cur.fetchall()
    conn.rollback()
    return rows


def spared_reason(
    value: str,
    detection: str,
    window_start: datetime,
    window_end: datetime,
    allowlist: Allowlist,
    lifts: Mapping[str, datetime],
    crawlers: Callable[[str, str, datetime, datetime], str | None] | None = None,
) -> str | None:
    """Why an alert that the policy would make a ban on `value` (a canonical entity) bans nothing, or None:
    the allowlist and the site's own addresses, a lift (`decisions delete`) made after the alert started,
    a verified crawler (`crawlers`: a secmon.decisions.crawlers.CrawlerGate, which may ask DNS)."""
    if (reason := allowlist.reason(value)) is not None:
        return reason
    lifted = lifts.get(value)
    if lifted is not None and window_start <= lifted:
        return f"lifted at {lifted.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} (secmon decisions delete)"
    return crawlers(value, detection, window_start, window_end) if crawlers is not None else None


def decisions_from_alerts(
    alerts: Iterable[tuple],
    policy: BanPolicy,
    allowlist: Allowlist,
    now: datetime,
    lifts: Mapping[str, datetime] | None = None,
    logged: set[str] | None = None,
    crawlers: Callable[[str, str, datetime, datetime], str | None] | None = None,
) -> dict[str, Decision]:
    """(entity, detection, severity, window_start, window_end) alerts → the bans in force at `now`, one
    per address (the latest-ending one). An entity that is no address is refused (logged); one that
    spared_reason spares is left out (a crawler's, logged once). The crawlers are asked only about a
    ban that would be in force and would be the address's latest: never for an alert that ends no ban.
    `logged`: the entities already logged (see `refuse`)."""
    decisions: dict[str, Decision] = {}
    for entity, detection, severity, window_start, window_end in alerts:
        duration = policy.duration(detection, severity)
        if duration is None:
            continue
        try:
            value = canonical_entity(entity)
        except ValueError as exc:
            refuse(entity, str(exc), logged)
            continue
        until = window_end + duration
        if until <= now or (value in decisions and until <= decisions[value].until):
            continue
        reason = spared_reason(value, detection, window_start, window_end, allowlist, lifts or {}, crawlers)
        if reason is None:
            decisions[value] = Decision(value, detection, until)
        elif reason.startswith(("verified crawler", "unverified crawler")):
            _log_spared(value, detection, reason, logged)
    return decisions


def _log_spared(value: str, detection: str, reason: str, logged: set[str] | None) -> None:
    shown = f"{value}|{detection}|{reason}"
    if logged is None or shown not in logged:
        log.info("%s not banned for %s: %s", value, detection, reason)
        if logged is not None:
            logged.add(shown)
