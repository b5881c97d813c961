"""CrowdSec's stream semantics over the ledger, the entity check and the query parameters, without a server.

What the LAPI does is read from crowdsecurity/crowdsec pkg/apiserver/controllers/v1/decisions.go
(StreamDecision) and pkg/database/decisions.go (the filters); the server tests drive the same through
HTTP and Debian's real bouncer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from secmon.decisions.filters import BadQuery, lookup_query, passes, stream_query
from secmon.decisions.policy import Allowlist, BanPolicy, Decision, canonical_entity, decisions_from_alerts, go_duration
from secmon.decisions.stream import OVERLAP, Ledger

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
BAN = Decision("203.0.113.5", "sqli_probing", NOW + timedelta(hours=4))
POLICY = BanPolicy(
    frozenset({"high", "critical"}), {"high": timedelta(hours=4), "critical": timedelta(hours=24)}, frozenset()
)


def values(sent) -> list[tuple[str, str]]:
    return [(s.decision.value, s.to_json(NOW)["until"]) for s in sent]


def pull(ledger: Ledger, current: dict, now: datetime, bouncer=("fw", "127.0.0.1")) -> tuple[list, list]:
    """One pull as the server makes it: record the bans in force, answer the delta, move the cursor."""
    ledger.sync(current, now)
    answer = ledger.delta(ledger.cursor(*bouncer), now)
    ledger.commit(*bouncer, now)
    return answer


def test_an_extension_is_the_old_decision_deleted_and_the_new_one_sent_in_one_pull(tmp_path):
    ledger = Ledger(tmp_path)
    new, deleted = pull(ledger, {BAN.value: BAN}, NOW)
    assert values(new) == [(BAN.value, "2026-12-02T16:00:00Z")] and deleted == []
    later = NOW + timedelta(minutes=10)
    longer = Decision(BAN.value, "account_takeover", NOW + timedelta(hours=24))
    new, deleted = pull(ledger, {BAN.value: longer}, later)
    assert [s.to_json(later)["until"] for s in new] == ["2026-12-03T12:00:00Z"]
    assert [(s.decision.id, s.to_json(later)["until"]) for s in deleted] == [(BAN.id, "2026-12-02T12:10:00Z")]


def test_a_restart_neither_re_sends_nor_forgets(tmp_path):
    ledger = Ledger(tmp_path)
    pull(ledger, {BAN.value: BAN}, NOW)
    pull(ledger, {BAN.value: BAN}, NOW + OVERLAP * 2)  # past the overlap
    ledger.close()
    after = Ledger(tmp_path)  # the server restarted: same state dir
    assert pull(after, {BAN.value: BAN}, NOW + timedelta(minutes=1)) == ([], [])
    after.close()
    again = Ledger(tmp_path)  # lifted while the server was down
    new, deleted = pull(again, {}, NOW + timedelta(minutes=2))
    assert new == [] and [s.decision.value for s in deleted] == [BAN.value]


def test_each_client_of_one_key_has_its_own_cursor_and_gets_every_delta(tmp_path):
    ledger = Ledger(tmp_path)
    first, second = ("fw", "192.0.2.1"), ("fw", "192.0.2.2")
    assert pull(ledger, {}, NOW, first) == pull(ledger, {}, NOW, second) == ([], [])
    assert len(pull(ledger, {BAN.value: BAN}, NOW + timedelta(seconds=5), second)[0]) == 1  # made by this pull
    assert len(pull(ledger, {BAN.value: BAN}, NOW + timedelta(seconds=10), first)[0]) == 1  # and sent to both
    assert pull(ledger, {BAN.value: BAN}, NOW + timedelta(seconds=20), first) == ([], [])


def test_an_uncommitted_pull_is_sent_again_and_the_overlap_re_sends_the_last_seconds(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.sync({BAN.value: BAN}, NOW)
    assert len(ledger.delta(ledger.cursor("fw", "h"), NOW)[0]) == 1  # the reply was never written
    assert len(ledger.delta(ledger.cursor("fw", "h"), NOW + timedelta(seconds=5))[0]) == 1
    ledger.commit("fw", "h", NOW + OVERLAP / 2)
    assert len(ledger.delta(ledger.cursor("fw", "h"), NOW + OVERLAP)[0]) == 1  # within the overlap
    ledger.commit("fw", "h", NOW + 2 * OVERLAP)
    assert ledger.delta(ledger.cursor("fw", "h"), NOW + 3 * OVERLAP) == ([], [])


def test_an_expired_ban_is_deleted_and_startup_lists_what_expired(tmp_path):
    ledger = Ledger(tmp_path)
    short = Decision("203.0.113.6", "sqli_probing", NOW + timedelta(seconds=30))
    pull(ledger, {short.value: short}, NOW)
    new, deleted = pull(ledger, {}, NOW + timedelta(minutes=1))
    assert new == [] and [s.decision.value for s in deleted] == [short.value]
    new, deleted = ledger.startup(NOW + timedelta(minutes=2))
    assert new == [] and [s.decision.value for s in deleted] == [short.value]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0h0m1s"), (59.2, "0h1m0s"), (3600, "1h0m0s"), (-0.2, "-0h0m1s"), (-61, "-0h1m1s")]
)
def test_a_duration_is_never_rounded_to_zero(seconds, text):
    assert go_duration(seconds) == text


@pytest.mark.parametrize(
    ("entity", "canonical"),
    [("2001:DB8::1", "2001:db8::1"), ("::ffff:8.8.8.8", "8.8.8.8"), ("2001:0db8:0:0::5", "2001:db8::5"),
     ("203.0.113.0/24", "203.0.113.0/24"), ("::ffff:203.0.113.0/120", "203.0.113.0/24")],
)  # fmt: skip
def test_an_entity_is_written_in_one_canonical_form(entity, canonical):
    assert canonical_entity(entity) == canonical


@pytest.mark.parametrize("entity", ["1::1%x;}", "fe80::1%eth0", "", " 8.8.8.8", "8.8.8.8;", "host.example", "1.2.3"])
def test_an_entity_that_no_firewall_reads_is_refused(entity):
    with pytest.raises(ValueError):
        canonical_entity(entity)


def test_a_zone_id_entity_is_refused_in_one_logged_line_and_the_batch_goes_on(caplog):
    alerts = [
        ("1::1%x;}", "web_attack", "high", NOW, NOW),
        ("203.0.113.7", "web_attack", "high", NOW, NOW),
        ("1::1%x;}", "sqli_probing", "high", NOW, NOW),
    ]
    logged: set[str] = set()
    with caplog.at_level(logging.WARNING, "secmon.decisions"):
        bans = decisions_from_alerts(alerts, POLICY, Allowlist(), NOW, logged=logged)
        decisions_from_alerts(alerts, POLICY, Allowlist(), NOW, logged=logged)  # the next pull logs it no more
    assert list(bans) == ["203.0.113.7"]
    (line,) = [record.getMessage() for record in caplog.records]
    assert "'1::1%x;}'" in line and "zone id" in line and "\n" not in line


def test_a_lift_holds_for_the_alerts_before_it_and_a_new_attack_bans_again():
    lifted_at = NOW + timedelta(minutes=1)
    old = ("203.0.113.8", "web_attack", "high", NOW - timedelta(minutes=5), NOW)
    assert decisions_from_alerts([old], POLICY, Allowlist(), NOW, {"203.0.113.8": lifted_at}) == {}
    new = ("203.0.113.8", "web_attack", "high", NOW + timedelta(minutes=2), NOW + timedelta(minutes=7))
    assert list(decisions_from_alerts([new], POLICY, Allowlist(), NOW, {"203.0.113.8": lifted_at})) == ["203.0.113.8"]


RANGE = Decision("203.0.113.0/24", "web_attack", NOW + timedelta(hours=1))
V6 = Decision("2001:db8::7", "web_attack", NOW + timedelta(hours=1))


@pytest.mark.parametrize(
    ("query", "matched"),
    [
        ("ip=203.0.113.5", [BAN, RANGE]),
        ("ip=::ffff:203.0.113.5", [BAN, RANGE]),
        ("ip=2001:DB8::7", [V6]),
        ("ip=203.0.113.5&contains=false", [BAN]),
        ("range=203.0.113.0/24&contains=false", [BAN, RANGE]),
        ("scope=range", [RANGE]),
        ("value=2001:0db8::7", [V6]),
        ("type=ban&origins=secmon", [BAN, RANGE, V6]),
        ("type=captcha", []),
        ("origins=crowdsec,cscli", []),
        ("scenarios_containing=SQLI", [BAN]),
        ("scenarios_not_containing=sqli", [RANGE, V6]),
    ],
)
def test_a_lookup_honours_every_filter(query, matched):
    tests = lookup_query(query)
    assert [d for d in (BAN, RANGE, V6) if passes(d, tests)] == matched


@pytest.mark.parametrize(
    "query",
    ["ip=", "range=", "ip=1::1%25x", "ip=not-an-ip", "contains=maybe", "value=", "limit=10", "ip=1.2.3.4&ip=5.6.7.8"],
)
def test_a_lookup_refuses_an_empty_invalid_or_unknown_parameter(query):
    with pytest.raises(BadQuery):
        lookup_query(query)


def test_the_stream_takes_crowdsecs_parameters_and_refuses_the_rest():
    startup, tests = stream_query("startup=true&scopes=ip,range&origins=secmon&scenarios_not_containing=crawl")
    assert startup and all(passes(d, tests) for d in (BAN, RANGE))
    assert not passes(BAN, stream_query("scopes=range")[1])
    assert stream_query("")[0] is False
    for query in ("startup=yes", "origins=", "scopes=", "ip=1.2.3.4", "startup=true&startup=false"):
        with pytest.raises(BadQuery):
            stream_query(query)
