"""Verified crawlers against a real DNS server (tests/local_dns.py): dnslib serves PTR/A/AAAA records
from a dict on 127.0.0.1, and the verifier's dnspython resolver asks it, as it would the site's."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from dnslib import AAAA, PTR, A, DNSLabel
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from local_dns import SERVFAIL, bound_udp_socket, resolver_at, serving

from secmon.decisions.crawlers import (
    FAKE,
    NO_CLAIM,
    UNVERIFIED,
    VERIFIED,
    AgentsUnreadable,
    CrawlerGate,
    CrawlerVerifier,
    claimed_engine,
)
from secmon.decisions.policy import Allowlist, BanPolicy, decisions_from_alerts, spared_reason

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"

RECORDS = {
    # a real Googlebot: the PTR in googlebot.com, confirmed by the forward lookup
    ("1.66.249.66.in-addr.arpa.", "PTR"): [PTR("crawl-66-249-66-1.googlebot.com.")],
    ("crawl-66-249-66-1.googlebot.com.", "A"): [A("66.249.66.1")],
    # Bing over IPv6
    ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "PTR"): [
        PTR("msnbot-1.search.msn.com.")
    ],
    ("msnbot-1.search.msn.com.", "AAAA"): [AAAA("2001:db8::1")],
    # a PTR outside Google's domains
    ("10.113.0.203.in-addr.arpa.", "PTR"): [PTR("host-10.example.net.")],
    # a PTR in googlebot.com whose forward lookup names another address
    ("11.113.0.203.in-addr.arpa.", "PTR"): [PTR("crawl-203-0-113-11.googlebot.com.")],
    ("crawl-203-0-113-11.googlebot.com.", "A"): [A("66.249.66.99")],
    # hostile PTRs, each with a forward record the attacker controls pointing back
    ("12.113.0.203.in-addr.arpa.", "PTR"): [PTR("crawl.googlebot.com.evil.net.")],
    ("crawl.googlebot.com.evil.net.", "A"): [A("203.0.113.12")],
    ("13.113.0.203.in-addr.arpa.", "PTR"): [PTR("googlebot.com.")],
    ("googlebot.com.", "A"): [A("203.0.113.13")],
    ("16.113.0.203.in-addr.arpa.", "PTR"): [PTR(DNSLabel([b"crawl.googlebot", b"com"]))],  # one label with a dot
    ("17.113.0.203.in-addr.arpa.", "PTR"): [PTR("evilgooglebot.com.")],
    ("evilgooglebot.com.", "A"): [A("203.0.113.17")],
    # 203.0.113.14 has no PTR: NXDOMAIN
    ("15.113.0.203.in-addr.arpa.", "PTR"): SERVFAIL,
    # a PTR in googlebot.com whose zone fails on the forward lookup
    ("18.113.0.203.in-addr.arpa.", "PTR"): [PTR("crawl-18.googlebot.com.")],
    ("crawl-18.googlebot.com.", "A"): SERVFAIL,
}


@pytest.fixture(scope="module")
def zone():
    """A DNS server on 127.0.0.1 answering RECORDS: (the Zone, its port)."""
    with serving(RECORDS) as running:
        yield running


@pytest.fixture
def verifier(zone) -> CrawlerVerifier:
    return CrawlerVerifier(resolver_at(zone[1]), budget_seconds=2.0)


@pytest.mark.parametrize(
    "address, agent, kind, shown",
    [
        ("66.249.66.1", GOOGLEBOT, VERIFIED, "verified crawler Google"),
        ("2001:db8::1", BINGBOT, VERIFIED, "verified crawler Bing"),
        ("203.0.113.10", GOOGLEBOT, FAKE, "fake crawler (claims Google)"),
        ("203.0.113.11", GOOGLEBOT, FAKE, "fake crawler (claims Google)"),
        ("203.0.113.12", GOOGLEBOT, FAKE, "fake crawler (claims Google)"),
        ("203.0.113.13", GOOGLEBOT, FAKE, "fake crawler (claims Google)"),
        ("203.0.113.16", GOOGLEBOT, FAKE, "fake crawler (claims Google)"),
        ("203.0.113.17", GOOGLEBOT, FAKE, "fake crawler (claims Google)"),
        ("203.0.113.14", GOOGLEBOT, FAKE, "fake crawler (claims Google)"),
        ("66.249.66.1", BINGBOT, FAKE, "fake crawler (claims Bing)"),  # Google's crawler is not Bing's
        ("203.0.113.15", GOOGLEBOT, UNVERIFIED, "unverified (DNS unavailable)"),
        ("203.0.113.18", GOOGLEBOT, UNVERIFIED, "unverified (DNS unavailable)"),
        ("66.249.66.1", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", NO_CLAIM, "not a crawler claim"),
        ("66.249.66.1", None, NO_CLAIM, "not a crawler claim"),
    ],
)
def test_a_crawler_is_verified_only_by_its_engines_reverse_and_forward_names(verifier, address, agent, kind, shown):
    verdict = verifier.verify(address, agent)
    assert (verdict.kind, str(verdict)) == (kind, shown), verdict.detail


def test_duckduckbot_publishes_no_names_so_its_claims_stay_unverified(verifier, zone):
    before = sum(zone[0].questions.values())
    verdict = verifier.verify("20.12.141.99", "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)")
    assert verdict.kind == UNVERIFIED and "publishes no DNS names" in str(verdict)
    assert sum(zone[0].questions.values()) == before  # nothing asked


def test_a_verdict_is_cached_and_a_dns_failure_is_asked_again_later(zone):
    now = [1000.0]
    verifier = CrawlerVerifier(resolver_at(zone[1]), cache_ttl=3600, clock=lambda: now[0])
    questions = zone[0].questions
    ptr, failing = ("1.66.249.66.in-addr.arpa.", "PTR"), ("15.113.0.203.in-addr.arpa.", "PTR")
    start_ptr, start_failing = questions[ptr], questions[failing]
    for _ in range(3):
        assert verifier.verify("66.249.66.1", GOOGLEBOT).kind == VERIFIED
        assert verifier.verify("203.0.113.15", GOOGLEBOT).kind == UNVERIFIED
    assert questions[ptr] - start_ptr == 1
    failed_once = questions[failing] - start_failing
    now[0] += 61  # past UNVERIFIED_TTL, well within cache_ttl
    verifier.verify("66.249.66.1", GOOGLEBOT)
    verifier.verify("203.0.113.15", GOOGLEBOT)
    assert questions[ptr] - start_ptr == 1
    assert questions[failing] - start_failing == 2 * failed_once


def test_a_server_that_never_answers_is_unverified_within_the_budget():
    silent, port = bound_udp_socket()  # bound, never read: every question times out
    try:
        verifier = CrawlerVerifier(resolver_at(port), budget_seconds=0.5)
        started = time.monotonic()
        verdict = verifier.verify("66.249.66.1", GOOGLEBOT)
        took = time.monotonic() - started
    finally:
        silent.close()
    assert str(verdict) == "unverified (DNS unavailable)"
    assert took < 1.0, f"{took:.2f} s for a 0.5 s budget"


def test_the_agent_claim_names_the_engine_in_any_case():
    assert claimed_engine("Mozilla/5.0 (compatible; GOOGLEBOT/2.1)").name == "Google"
    assert claimed_engine("Mozilla/5.0 (compatible; Baiduspider/2.0)").name == "Baidu"
    assert claimed_engine("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)").name == "Yandex"
    assert claimed_engine("Mozilla/5.0 ... (Applebot/0.1; +http://www.apple.com/go/applebot)").name == "Apple"
    assert claimed_engine("curl/8.5") is None


def test_a_10kb_agent_is_read_in_milliseconds():
    agent = "Mozilla/5.0 " + "Googlebo" * 1280
    started = time.perf_counter()
    for _ in range(100):
        claimed_engine(agent)
    assert (time.perf_counter() - started) / 100 < 0.005


@hypothesis_settings(max_examples=150, deadline=None)
@given(address=st.one_of(st.ip_addresses().map(str), st.text(max_size=60)), agent=st.text(max_size=300))
def test_no_address_or_agent_makes_verification_raise(zone, address, agent):
    verifier = CrawlerVerifier(resolver_at(zone[1]), budget_seconds=0.5)
    assert verifier.verify(address, f"Googlebot {agent}").kind in {VERIFIED, FAKE, UNVERIFIED}
    assert verifier.verify(address, agent).kind in {VERIFIED, FAKE, UNVERIFIED, NO_CLAIM}


START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
END = START + timedelta(minutes=1)


def test_the_gate_spares_verified_crawlers_and_unverified_claims_on_crawler_only_signals(verifier, zone):
    agents = {
        "66.249.66.1": [GOOGLEBOT],
        "203.0.113.10": ["curl/8", GOOGLEBOT],
        "203.0.113.15": [GOOGLEBOT],
        "203.0.113.20": ["sqlmap/1.7"],
    }
    asked = Counter()

    def window_agents(address, start, end):
        asked[address] += 1
        return agents.get(address, [])

    gate = CrawlerGate(verifier, window_agents, {"aggressive_crawling"})
    assert gate("66.249.66.1", "web_attack", START, END) == "verified crawler (Google)"
    assert gate("203.0.113.10", "aggressive_crawling", START, END) is None  # a fake crawler may be banned
    assert gate("203.0.113.15", "web_attack", START, END) is None  # unverified: not allowlisted
    assert gate("203.0.113.15", "aggressive_crawling", START, END) == (
        "unverified crawler claim (Google): aggressive_crawling alone does not ban"
    )
    assert gate("203.0.113.20", "web_attack", START, END) is None
    assert asked["203.0.113.15"] == 1  # one window, read once


POLICY = BanPolicy(
    frozenset({"high", "critical"}),
    {severity: timedelta(hours=4) for severity in ("low", "medium", "high", "critical")},
    frozenset(),
)


def test_a_verified_crawler_is_never_banned_a_fake_one_is_and_dns_trouble_spares_only_crawler_signals(verifier):
    agents = {"66.249.66.1": [GOOGLEBOT], "203.0.113.10": [GOOGLEBOT], "203.0.113.15": [GOOGLEBOT]}
    asked = []

    def window_agents(address, start, end):
        asked.append(address)
        return agents.get(address, [])

    gate = CrawlerGate(verifier, window_agents, POLICY.crawler_only)
    now = END + timedelta(minutes=5)
    alerts = [
        ("66.249.66.1", "web_attack", "high", START, END),
        ("203.0.113.10", "web_attack", "high", START, END),
        ("203.0.113.15", "scanner_user_agent", "high", START, END),
        ("203.0.113.15", "web_attack", "high", START - timedelta(hours=1), END - timedelta(hours=1)),
        ("203.0.113.30", "bad_user_agent", "low", START, END),  # bans nothing: never asked about
        ("203.0.113.31", "web_attack", "high", START - timedelta(hours=6), END - timedelta(hours=6)),  # over
    ]
    bans = decisions_from_alerts(alerts, POLICY, Allowlist(), now, crawlers=gate)
    assert {value: ban.detection for value, ban in bans.items()} == {
        "203.0.113.10": "web_attack",  # the fake Googlebot
        "203.0.113.15": "web_attack",  # unverified: its attack bans, its crawler-only alert does not
    }
    assert sorted(set(asked)) == ["203.0.113.10", "203.0.113.15", "66.249.66.1"]
    assert spared_reason("66.249.66.1", "web_attack", START, END, Allowlist(), {}, gate) == "verified crawler (Google)"


def test_unreadable_agents_leave_the_ban_to_the_policy_and_are_said_once(verifier, caplog):
    def window_agents(address, start, end):
        raise AgentsUnreadable('relation "website_requests" does not exist')

    gate = CrawlerGate(verifier, window_agents, POLICY.crawler_only)
    with caplog.at_level("INFO", logger="secmon.decisions"):
        assert gate("66.249.66.1", "aggressive_crawling", START, END) is None
        assert gate("66.249.66.2", "web_attack", START, END) is None
    assert [record.getMessage() for record in caplog.records] == [
        "crawler claims are not checked: the alert windows' agents cannot be read: "
        'relation "website_requests" does not exist'
    ]
