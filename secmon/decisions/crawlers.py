"""Verified search-engine crawlers: an alert never bans a crawler that its engine vouches for.

A user agent that names a crawler is the sender's claim. Each engine documents how to check it
(forward-confirmed reverse DNS): the address's PTR name must lie in one of the engine's published
domains, and a forward lookup of that name must return the address. ENGINES is that table, with the
page each row comes from:

- Google: googlebot.com, google.com
  (https://developers.google.com/crawling/docs/crawlers-fetchers/verify-google-requests).
  Not googleusercontent.com: Google names its user-triggered fetchers `*.gae.googleusercontent.com`
  (https://developers.google.com/crawling/docs/crawlers-fetchers/google-user-triggered-fetchers), the
  reverse names of App Engine, where anyone runs code: such a name proves Google Cloud, not Google.
- Bing: search.msn.com (https://www.bing.com/webmaster/help/how-to-verify-bingbot-3905dc26).
- Apple: applebot.apple.com (https://support.apple.com/en-us/119829, "About Applebot").
- Yandex: yandex.ru, yandex.net, yandex.com
  (https://yandex.com/support/webmaster/robot-workings/check-yandex-robots.html).
- Baidu: baidu.com, baidu.jp (Baidu's spider help, "Baiduspider的hostname以*.baidu.com或*.baidu.jp的格式命名").
- DuckDuckGo publishes no DNS names, only the addresses DuckDuckBot crawls from
  (https://duckduckgo.com/duckduckgo-help-pages/results/duckduckbot, duckduckbot.json): its claims stay
  "unverified" (no list is fetched here).

A PTR record is written by whoever owns the address, so it is checked as hostile text: the name must be
a strict subdomain of a published domain, label by label (`crawl.googlebot.com.evil.net` and a bare
`googlebot.com.` fail), and only the forward answer of the engine's own zone decides.

Never on the hot path: verification runs only when an alert would ban an address whose requests in
the alert's window claim a crawler (CrawlerGate, called by secmon.decisions.policy), and every verdict
is cached. Each verification has a time budget; a DNS failure is "unverified", never an exception.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import dns.exception
import dns.name
import dns.resolver
import dns.reversename
import psycopg2
from psycopg2 import sql

from secmon.core.addresses import canonical_ip

log = logging.getLogger("secmon.decisions")


@dataclass(frozen=True)
class Engine:
    name: str
    agent_tokens: tuple[str, ...]  # a user agent holding one (any case) claims this engine's crawler
    domains: tuple[str, ...]  # its crawlers' reverse names lie below these; () when none is published


ENGINES = (
    Engine("Google", ("Googlebot",), ("googlebot.com", "google.com")),
    Engine("Bing", ("bingbot",), ("search.msn.com",)),
    Engine("Apple", ("Applebot",), ("applebot.apple.com",)),
    Engine("DuckDuckGo", ("DuckDuckBot",), ()),
    Engine("Yandex", ("YandexBot", "YandexImages", "YandexMobileBot"), ("yandex.ru", "yandex.net", "yandex.com")),
    Engine("Baidu", ("Baiduspider",), ("baidu.com", "baidu.jp")),
)
_ENGINE_OF_TOKEN = {token.lower(): engine for engine in ENGINES for token in engine.agent_tokens}
_CLAIM = re.compile("|".join(re.escape(token) for token in _ENGINE_OF_TOKEN), re.IGNORECASE)
_ZONES = {engine.name: tuple(dns.name.from_text(domain) for domain in engine.domains) for engine in ENGINES}

VERIFIED, FAKE, UNVERIFIED, NO_CLAIM = "verified", "fake", "unverified", "no claim"
DNS_UNAVAILABLE = "DNS unavailable"
MAX_PTR_NAMES = 8  # a hostile PTR set may hold many names; an engine's crawler has one
UNVERIFIED_TTL = 60.0  # a DNS failure is asked again after a minute, not after cache_ttl
MAX_CACHED = 65_536


def claimed_engine(user_agent: str | None) -> Engine | None:
    """The engine whose crawler the agent names (`…Googlebot/2.1…` → Google), or None. Linear in the agent."""
    if not user_agent:
        return None
    match = _CLAIM.search(user_agent)
    return _ENGINE_OF_TOKEN[match.group().lower()] if match else None


@dataclass(frozen=True)
class Verdict:
    kind: str  # VERIFIED, FAKE, UNVERIFIED or NO_CLAIM
    engine: str | None = None
    detail: str = ""  # why unverified, or the name that failed

    def __str__(self) -> str:
        if self.kind == VERIFIED:
            return f"verified crawler {self.engine}"
        if self.kind == FAKE:
            return f"fake crawler (claims {self.engine})"
        if self.kind == UNVERIFIED:
            return f"unverified ({self.detail})"
        return "not a crawler claim"


class _Unavailable(Exception):
    """DNS gave no usable answer in time: the verdict is UNVERIFIED."""


class CrawlerVerifier:
    """Forward-confirmed reverse DNS of a claimed crawler, cached per (address, engine).

    `resolver`: a dnspython Resolver (tests point one at a local server); the system's by default.
    `budget_seconds`: the most one verification may take, both lookups together."""

    def __init__(self, resolver=None, budget_seconds: float = 2.0, cache_ttl: float = 3600.0, clock=time.monotonic):
        self.resolver = resolver if resolver is not None else _system_resolver()
        self.budget_seconds, self.cache_ttl, self.clock = budget_seconds, cache_ttl, clock
        self._cache: dict[tuple[str, str], tuple[float, Verdict]] = {}

    def verify(self, address: str, user_agent: str | None) -> Verdict:
        engine = claimed_engine(user_agent)
        if engine is None:
            return Verdict(NO_CLAIM)
        ip = canonical_ip(address) if isinstance(address, str) else None
        if ip is None:
            return Verdict(UNVERIFIED, engine.name, "not an IP address")
        if not engine.domains:
            return Verdict(UNVERIFIED, engine.name, f"{engine.name} publishes no DNS names to verify")
        key = (ip, engine.name)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        verdict = self._lookup(ip, engine)
        ttl = UNVERIFIED_TTL if verdict.kind == UNVERIFIED else self.cache_ttl
        if len(self._cache) >= MAX_CACHED:
            self._cache.pop(next(iter(self._cache)))  # the oldest entry
        self._cache[key] = (self.clock() + ttl, verdict)
        return verdict

    def _lookup(self, ip: str, engine: Engine) -> Verdict:
        deadline = self.clock() + self.budget_seconds
        try:
            names = self._answer(dns.reversename.from_address(ip), "PTR", deadline)
            if names is None:
                return Verdict(FAKE, engine.name, "no reverse name")
            inside = [name for name in names[:MAX_PTR_NAMES] if _in_zones(name, _ZONES[engine.name])]
            if not inside:
                return Verdict(FAKE, engine.name, f"reverse name {_shown(names[0])} is not {engine.name}'s")
            for name in inside:
                addresses = self._answer(name, "AAAA" if ":" in ip else "A", deadline) or []
                if ip in {canonical_ip(str(address)) for address in addresses}:
                    return Verdict(VERIFIED, engine.name, _shown(name))
            return Verdict(FAKE, engine.name, f"{_shown(inside[0])} does not resolve to {ip}")
        except _Unavailable as exc:
            return Verdict(UNVERIFIED, engine.name, str(exc) or DNS_UNAVAILABLE)

    def _answer(self, qname: dns.name.Name, rdtype: str, deadline: float) -> list | None:
        """The answer's names (PTR) or addresses (A, AAAA); None when the name or the record does not
        exist (an authoritative no); _Unavailable when DNS does not answer within the deadline."""
        left = deadline - self.clock()
        if left <= 0:
            raise _Unavailable(DNS_UNAVAILABLE)
        try:
            answer = self.resolver.resolve(qname, rdtype, lifetime=left, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except dns.exception.DNSException as exc:  # timeout, SERVFAIL, refused, a malformed reply
            raise _Unavailable(DNS_UNAVAILABLE) from exc
        except Exception as exc:  # noqa: BLE001 — a hostile answer must not stop the decisions
            log.warning("DNS answer for %s %s not understood: %r", _shown(qname), rdtype, exc)
            raise _Unavailable(DNS_UNAVAILABLE) from exc
        if rdtype == "PTR":
            return [record.target for record in answer]
        return [record.address for record in answer]


def _system_resolver():
    """The host's resolver (resolv.conf); without one, a resolver with no servers: every claim unverified."""
    try:
        return dns.resolver.Resolver()
    except dns.exception.DNSException:
        return dns.resolver.Resolver(configure=False)


def _in_zones(name: dns.name.Name, zones: tuple[dns.name.Name, ...]) -> bool:
    """A strict subdomain of one zone, compared label by label (case-insensitive), as DNS does."""
    return any(name.is_subdomain(zone) and name != zone for zone in zones)


def _shown(name: dns.name.Name) -> str:
    """A name from DNS as text for a log or an operator: escaped by dnspython, cut short."""
    return name.to_text(omit_final_dot=True)[:120]


# How many requests of an alert's window, and distinct agents, are read to learn what the client claimed.
WINDOW_ROWS, WINDOW_AGENTS = 5_000, 50
AGENTS_TIMEOUT = "2s"


class AgentsUnreadable(Exception):
    """The agents of an alert's window cannot be read (the message says why)."""


def window_agents(conn, schema: str, address: str, start: datetime, end: datetime) -> list[str]:
    """The distinct user agents `address` sent in [start, end), read-only and bounded (rows, agents, time);
    AgentsUnreadable when the database cannot say."""
    statement = sql.SQL(
        "select user_agent from (select user_agent from {}.website_requests where ip_address = %s "
        "and request_timestamp >= %s and request_timestamp < %s and user_agent is not null limit %s) as window_rows "
        "group by user_agent limit %s"
    ).format(sql.Identifier(schema))
    try:
        with conn.cursor() as cur:
            cur.execute("set local statement_timeout = %s", (AGENTS_TIMEOUT,))
            cur.execute(statement, (address, start, end, WINDOW_ROWS, WINDOW_AGENTS))
            return [agent for (agent,) in cur.fetchall()]
    except psycopg2.Error as exc:
        raise AgentsUnreadable((str(exc).strip() or type(exc).__name__).splitlines()[0][:200]) from exc
    finally:
        conn.rollback()


class CrawlerGate:
    """Why an alert that would ban `address` does not, as a crawler; None when it bans.

    - a verified crawler is never banned: "verified crawler (Google)";
    - a claim that DNS could not check does not ban on a crawler-only detection (`crawler_only`):
      "unverified crawler claim (Google): aggressive_crawling alone does not ban";
    - a fake crawler, or no claim at all, leaves the ban to the policy.

    `agents(address, window_start, window_end)` gives the agents of the alert's window (window_agents
    with a connection); they are cached per window, which does not change once its alert exists. When
    they cannot be read, the alert is judged as if its client claimed no crawler (said once, at INFO)."""

    def __init__(self, verifier: CrawlerVerifier, agents: Callable, crawler_only: Iterable[str]) -> None:
        self.verifier, self.agents, self.crawler_only = verifier, agents, frozenset(crawler_only)
        self._agents: dict[tuple, list[str]] = {}
        self._unreadable_said = False

    def verdicts(self, address: str, window_start: datetime, window_end: datetime) -> list[tuple[str, Verdict]]:
        """(agent, verdict) for each engine the window's agents claim, one agent per engine."""
        key = (address, window_start, window_end)
        agents = self._agents.get(key)
        if agents is None:
            try:
                agents = self.agents(address, window_start, window_end)
            except AgentsUnreadable as exc:  # asked again next time
                if not self._unreadable_said:
                    log.info("crawler claims are not checked: the alert windows' agents cannot be read: %s", exc)
                    self._unreadable_said = True
                return []
            if len(self._agents) >= MAX_CACHED:
                self._agents.pop(next(iter(self._agents)))
            self._agents[key] = agents
        claims = {}
        for agent in agents:
            if (engine := claimed_engine(agent)) is not None:
                claims.setdefault(engine.name, agent)
        return [(agent, self.verifier.verify(address, agent)) for agent in claims.values()]

    def __call__(self, address: str, detection: str, window_start: datetime, window_end: datetime) -> str | None:
        verdicts = [verdict for _, verdict in self.verdicts(address, window_start, window_end)]
        if verified := [verdict for verdict in verdicts if verdict.kind == VERIFIED]:
            return f"verified crawler ({verified[0].engine})"
        unverified = [verdict for verdict in verdicts if verdict.kind == UNVERIFIED]
        if unverified and detection in self.crawler_only:
            return f"unverified crawler claim ({unverified[0].engine}): {detection} alone does not ban"
        return None


def crawler_gate(
    conn, schema: str, crawler_only: Iterable[str], verifier: CrawlerVerifier | None = None
) -> CrawlerGate:
    """A CrawlerGate reading the alerts' windows through `conn` (read-only), with the system's resolver
    unless `verifier` is given."""
    return CrawlerGate(
        verifier or CrawlerVerifier(),
        lambda address, start, end: window_agents(conn, schema, address, start, end),
        crawler_only,
    )
