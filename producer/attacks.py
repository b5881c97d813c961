"""Attack scenarios with ground-truth labels, their payloads from CrowdSec's pattern lists.

Each scenario is a function `(kit, start_ms) -> (events, target_username)`; `attack()` runs one
and labels it. Events of one attack come from one attacker IP, in time order.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable
from urllib.parse import quote

from . import patterns, site
from .event import Event, iso_timestamp
from .site import HIGH, LOW, MEDIUM, Population, Site

# Hosting and VPN ranges the attackers come from; normal visitors never use these first octets.
ATTACKER_FIRST_OCTETS = (5, 45, 85, 91, 141, 185, 193, 194)
RECENT_IPS = 5_000
SCRIPT_AGENTS = ("python-requests/2.31.0", "curl/8.5.0", "Go-http-client/1.1", "okhttp/4.12.0")


@dataclass(frozen=True)
class Label:
    """Ground truth for one attack: who, against whom, when."""

    scenario: str
    attacker_ip: str
    target_username: str | None
    first_event_ms: int
    last_event_ms: int
    events: int

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["first_event"] = iso_timestamp(doc.pop("first_event_ms"))
        doc["last_event"] = iso_timestamp(doc.pop("last_event_ms"))
        return doc


class AttackKit:
    """What scenarios draw on: the random source, the site's users, and an event builder."""

    def __init__(self, rng: random.Random, population: Population) -> None:
        self.rng = rng
        self.population = population
        self.site = Site(rng)
        # The latest attackers' IPs, so that two attacks near in time never share one (bounded: a
        # run without end plans attacks forever).
        self._recent_ips: deque[str] = deque(maxlen=RECENT_IPS)

    def attacker_ip(self) -> str:
        while True:
            rng = self.rng
            ip = f"{rng.choice(ATTACKER_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if ip not in self._recent_ips:
                self._recent_ips.append(ip)
                return ip

    def victim(self) -> site.User:
        return self.rng.choice(self.population.users)

    def browser(self) -> str:
        return site.random_browser_agent(self.rng)

    def event(self, ts: int, ip: str, agent: str, url: str, method: str, status: int, action: str,
              level: str, username: str | None = None, user_id: str | None = None,
              referrer: str = "direct", median_ms: float = 80) -> Event:
        response_time = int(self.rng.lognormvariate(0, 0.5) * median_ms) + 1
        return Event(ts, ip, agent, url, method, status, response_time, referrer, user_id, username, action, level)

    def gaps(self, start_ms: int, count: int, low_ms: int, high_ms: int) -> list[int]:
        """`count` timestamps from `start_ms`, spaced uniformly between low_ms and high_ms."""
        stamps, ts = [], start_ms
        for _ in range(count):
            stamps.append(ts)
            ts += self.rng.randrange(low_ms, high_ms)
        return stamps

    def page(self) -> str:
        return self.site.url(self.site.browsing_step())


def brute_force(kit: AttackKit, start_ms: int):
    """Many failed logins on one account from one IP (no success)."""
    ip, agent, victim = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS), kit.victim()
    stamps = kit.gaps(start_ms, kit.rng.randrange(40, 120), 400, 2500)
    return [kit.event(ts, ip, agent, "/login", "POST", 401, "login", HIGH, victim.username, median_ms=240)
            for ts in stamps], victim.username


def credential_stuffing(kit: AttackKit, start_ms: int):
    """One IP tries many leaked username/password pairs: mostly failures, a rare hit."""
    ip, agent = kit.attacker_ip(), kit.browser()
    events = []
    for ts in kit.gaps(start_ms, kit.rng.randrange(40, 150), 200, 1500):
        if kit.rng.random() < 0.6:
            username = kit.victim().username
        else:
            username = f"{kit.rng.choice(site.FIRST_NAMES)}{kit.rng.randrange(1950, 2010)}"
        status = 302 if kit.rng.random() < 0.03 else 401
        events.append(kit.event(ts, ip, agent, "/login", "POST", status, "login", HIGH, username, median_ms=240))
    return events, None


def account_takeover(kit: AttackKit, start_ms: int):
    """A few failures on one account, then a success, then the account's settings are changed."""
    ip, agent, victim = kit.attacker_ip(), kit.browser(), kit.victim()
    failures = kit.rng.randrange(5, 9)
    stamps = kit.gaps(start_ms, failures + 1, 2000, 8000)
    events = [kit.event(ts, ip, agent, "/login", "POST", 401, "login", HIGH, victim.username, median_ms=240)
              for ts in stamps[:-1]]
    events.append(kit.event(stamps[-1], ip, agent, "/login", "POST", 302, "login", HIGH, victim.username,
                            victim.user_id, median_ms=240))
    ts = stamps[-1]
    for url, method, action, level in (("/account/profile", "GET", "view_page", MEDIUM),
                                       ("/account/settings", "POST", "submit_form", HIGH),
                                       ("/account/documents", "GET", "download_file", HIGH)):
        ts += kit.rng.randrange(1500, 6000)
        events.append(kit.event(ts, ip, agent, url, method, 200, action, level, victim.username, victim.user_id,
                                referrer="internal"))
    return events, victim.username


def path_probing(kit: AttackKit, start_ms: int):
    """A burst of requests for admin panels and web shells that do not exist: 404s and 403s."""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    candidates = [p for p in patterns.load("admin_interfaces") if p.startswith("/")]
    candidates += ["/" + name for name in patterns.load("backdoors")]
    paths = kit.rng.sample(candidates, kit.rng.randrange(20, 60))
    return [kit.event(ts, ip, agent, path, "GET", 403 if kit.rng.random() < 0.1 else 404, "view_page", LOW)
            for ts, path in zip(kit.gaps(start_ms, len(paths), 100, 1500), paths)], None


def sensitive_files(kit: AttackKit, start_ms: int):
    """Requests for leaked secrets and dumps: /.env, /.git/config, /backup.sql …"""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    suffixes = kit.rng.sample(patterns.load("sensitive_files"), kit.rng.randrange(8, 25))
    paths = ["/" + s if s.startswith(".") else "/" + kit.rng.choice(("", "backup/", "db/", "old/")) + s
             for s in suffixes]
    paths = [p if not p.startswith("/.sql") else "/dump" + p[1:] for p in paths]
    return [kit.event(ts, ip, agent, path, "GET", 404 if kit.rng.random() < 0.85 else 403, "view_page", LOW)
            for ts, path in zip(kit.gaps(start_ms, len(paths), 150, 2000), paths)], None


def _query_probe(kit: AttackKit, start_ms: int, pattern_list: str, payloads: Callable[[str], str],
                 path_choices: tuple[str, ...]):
    ip, agent = kit.attacker_ip(), kit.browser()
    chosen = [kit.rng.choice(patterns.load(pattern_list)) for _ in range(kit.rng.randrange(15, 40))]
    return [kit.event(ts, ip, agent, kit.rng.choice(path_choices) + payloads(pattern), "GET",
                      kit.rng.choice((200, 200, 400, 500)), "navigate_page", LOW)
            for ts, pattern in zip(kit.gaps(start_ms, len(chosen), 200, 2500), chosen)], None


def sqli_probing(kit: AttackKit, start_ms: int):
    """SQL injection payloads in the query string."""
    return _query_probe(kit, start_ms, "sqli_patterns", lambda p: f"1{p}{quote('--', safe='')}",
                        ("/products?id=", "/search?q=shoes&page=", "/products?category=sale&sort="))


def xss_probing(kit: AttackKit, start_ms: int):
    """Script and markup injection in the query string."""
    return _query_probe(kit, start_ms, "xss_patterns", lambda p: p + quote(" src=x onerror=alert(1)>", safe="%"),
                        ("/search?q=", "/contact?name=", "/products?sort="))


def path_traversal(kit: AttackKit, start_ms: int):
    """Directory traversal payloads in the query string."""
    return _query_probe(kit, start_ms, "path_traversal", lambda p: "../../../.." + p if p.startswith("/") else p * 4 + "etc/passwd",
                        ("/downloads?file=", "/static?path=", "/api/export?template="))


def bad_user_agent(kit: AttackKit, start_ms: int):
    """A scanner that announces itself in the User-Agent: sqlmap, Nikto, Nmap, masscan …"""
    ip = kit.attacker_ip()
    tool = kit.rng.choice(("Sqlmap", "Nikto", "Nmap", "masscan", "Nuclei", "WPScan", "zgrab", "Acunetix"))
    agent = {"Sqlmap": "sqlmap/1.7.12#stable (https://sqlmap.org)",
             "Nikto": "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)",
             "Nmap": "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
             "masscan": "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
             "Nuclei": "Mozilla/5.0 (Windows NT 10.0) Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
             "WPScan": "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
             "zgrab": "Mozilla/5.0 zgrab/0.x",
             "Acunetix": "Mozilla/5.0 (Windows NT 6.1) Acunetix-Product/14.0"}[tool]
    return [kit.event(ts, ip, agent, kit.page(), "GET", kit.rng.choice((200, 200, 200, 304)), "view_page", LOW)
            for ts in kit.gaps(start_ms, kit.rng.randrange(10, 40), 300, 3000)], None


def request_flood(kit: AttackKit, start_ms: int):
    """One IP at many times a visitor's rate: tens of requests a second for a minute or two."""
    ip, agent = kit.attacker_ip(), kit.browser()
    per_second = kit.rng.randrange(20, 60)
    count = per_second * kit.rng.randrange(60, 120)
    step = 1000 // per_second
    return [kit.event(ts, ip, agent, kit.page(), "GET", 503 if kit.rng.random() < 0.2 else 200, "view_page", LOW)
            for ts in kit.gaps(start_ms, count, max(1, step // 2), step * 3 // 2)], None


def switching_user_agents(kit: AttackKit, start_ms: int):
    """One IP rotating through many browser identities to dodge per-agent limits."""
    ip = kit.attacker_ip()
    agents = list(site.DESKTOP_AGENTS + site.MOBILE_AGENTS)
    agents += [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               f"Chrome/{kit.rng.randrange(100, 124)}.0.{kit.rng.randrange(1000, 6999)}.{kit.rng.randrange(10, 200)} "
               f"Safari/537.36" for _ in range(40)]
    chosen = kit.rng.sample(agents, kit.rng.randrange(15, 40))
    stamps = kit.gaps(start_ms, len(chosen) * 2, 300, 2500)
    return [kit.event(ts, ip, chosen[i // 2], kit.page(), "GET", 200, "view_page", LOW)
            for i, ts in enumerate(stamps)], None


SCENARIOS: dict[str, Callable] = {fn.__name__: fn for fn in (
    brute_force, credential_stuffing, account_takeover, path_probing, sensitive_files, sqli_probing,
    xss_probing, path_traversal, bad_user_agent, request_flood, switching_user_agents,
)}


def attack(kit: AttackKit, scenario: str, start_ms: int) -> tuple[Label, list[Event]]:
    events, target = SCENARIOS[scenario](kit, start_ms)
    label = Label(scenario, events[0].ip_address, target, events[0].request_timestamp,
                  events[-1].request_timestamp, len(events))
    return label, events
