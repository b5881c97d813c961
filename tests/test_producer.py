"""The traffic generator: schema, realism, attack signatures, labels, determinism."""

from __future__ import annotations

import json
import math
import os
import tracemalloc
from collections import Counter
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote_plus

import jsonschema
import pytest
from click.testing import CliRunner

from secmon.cli import cli
from secmon.core.classify import seeds
from secmon.core.events import FIELDS, SCHEMA, Event, EventEncoder, parse_event
from secmon.producer import attacks
from secmon.producer.attacks import ATTACKER_FIRST_OCTETS, SCENARIOS
from secmon.producer.generate import Mix, plan

START_MS = 1_706_184_000_000  # 2024-01-25T12:00:00Z


@pytest.fixture(scope="module")
def mixed():
    traffic = plan(Mix(rate=200, seed=3, attacks_per_scenario=2), START_MS, 20 * 60_000)
    return traffic, list(traffic.events())


def attack_ips(traffic):
    return {label.attacker_ip for label in traffic.labels}


def test_the_event_class_and_the_json_schema_are_one_definition():
    assert Event._fields == FIELDS == (*SCHEMA["required"], "tags")  # tags: optional, the classifier's


def test_encoded_events_validate_against_the_schema_and_parse_back(mixed):
    _, events = mixed
    encode = EventEncoder().encode
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    for event in events[::50]:
        raw = encode(event)
        validator.validate(json.loads(raw))
        assert parse_event(raw) == event
        assert json.loads(raw) == event.to_dict()


def test_events_are_in_time_order_inside_the_window(mixed):
    traffic, events = mixed
    stamps = [event.request_timestamp for event in events]
    assert stamps == sorted(stamps)
    assert traffic.start_ms <= stamps[0] and stamps[-1] < traffic.end_ms


def test_normal_traffic_looks_like_a_website(mixed):
    traffic, events = mixed
    normal = [event for event in events if event.ip_address not in attack_ips(traffic)]
    statuses = Counter(event.status_code // 100 for event in normal)
    share = {klass: count / len(normal) for klass, count in statuses.items()}
    assert 0.75 < share[2] < 0.95  # 304s for cached assets and login/logout redirects make up most of the rest
    assert 0.05 < share[3] < 0.20
    assert 0.005 < share[4] < 0.05
    assert 0.0005 < share.get(5, 0) < 0.01
    actions = Counter(event.user_action for event in normal)
    assert set(actions) == set(SCHEMA["properties"]["user_action"]["enum"])
    assert actions.most_common(1)[0][0] == "view_page"
    levels = Counter(event.security_level for event in normal)
    assert levels["low"] > levels["medium"] > levels["high"] > 0
    # Rate: close to the requested 200 events/s once warmed up.
    assert 0.8 < len(normal) / (20 * 60 * 200) < 1.2
    # Users on several IPs, and IPs (office NATs) shared by several users.
    ips_per_user = Counter()
    users_per_ip: dict[str, set] = {}
    for event in normal:
        if event.username:
            users_per_ip.setdefault(event.ip_address, set()).add(event.username)
    for _ip, users in users_per_ip.items():
        for user in users:
            ips_per_user[user] += 1
    assert max(ips_per_user.values()) >= 2
    assert max(len(users) for users in users_per_ip.values()) >= 2
    assert any(":" in event.ip_address for event in normal)
    assert any("Googlebot" in (event.user_agent or "") for event in normal)


def test_attackers_are_a_small_share_and_never_normal_visitors(mixed):
    traffic, events = mixed
    attackers = attack_ips(traffic)
    attack_events = sum(1 for event in events if event.ip_address in attackers)
    assert 0.005 < attack_events / len(events) < 0.15
    assert all(int(ip.split(".")[0]) in ATTACKER_FIRST_OCTETS for ip in attackers)
    normal_ips = {event.ip_address for event in events if event.ip_address not in attackers}
    assert not any(ip.split(".")[0].isdigit() and int(ip.split(".")[0]) in ATTACKER_FIRST_OCTETS for ip in normal_ips)


def test_no_normal_user_agent_matches_a_bad_agent_pattern(mixed):
    traffic, events = mixed
    bad = [pattern.upper() for pattern in seeds.load("bad_user_agents")]
    agents = {event.user_agent.upper() for event in events if event.ip_address not in attack_ips(traffic)}
    assert [agent for agent in agents if any(pattern in agent for pattern in bad)] == []


def test_labels_match_their_events(mixed):
    traffic, events = mixed
    assert Counter(label.scenario for label in traffic.labels) == {name: 2 for name in SCENARIOS}
    for label in traffic.labels:
        own = [event for event in events if event.ip_address == label.attacker_ip]
        assert len(own) == label.events
        assert own[0].request_timestamp == label.first_event_ms
        assert own[-1].request_timestamp == label.last_event_ms


def _signature_holds(scenario: str, own: list[Event], target: str | None) -> bool:
    upper_urls = [event.url.upper() for event in own]
    if scenario == "brute_force":
        return len(own) >= 40 and all(e.status_code == 401 and e.username == target and e.url == "/login" for e in own)
    if scenario == "credential_stuffing":
        failures = [e for e in own if e.status_code == 401]
        return len({e.username for e in own}) >= 20 and len(failures) / len(own) > 0.9
    if scenario == "account_takeover":
        logins = [e for e in own if e.user_action == "login"]
        return (
            [e.status_code for e in logins[:-1]] == [401] * (len(logins) - 1)
            and len(logins) >= 6
            and logins[-1].status_code == 302
            and all(e.username == target for e in own)
        )
    if scenario == "path_probing":
        return len({e.url for e in own}) >= 20 and all(e.status_code in (403, 404) for e in own)
    if scenario == "sensitive_files":
        return all(any(e.url.endswith(p) for p in seeds.load("sensitive_files")) for e in own)
    if scenario in ("sqli_probing", "xss_probing", "path_traversal"):
        names = {"sqli_probing": "sqli_patterns", "xss_probing": "xss_patterns", "path_traversal": "path_traversal"}
        listed = [p.upper() for p in seeds.load(names[scenario])]
        return all(any(p in url for p in listed) for url in upper_urls)
    if scenario in ("bad_user_agent", "scanner_user_agent"):
        listed = "bad_user_agents" if scenario == "bad_user_agent" else "scanner_user_agents"
        scanner = any(p.upper() in own[0].user_agent.upper() for p in seeds.load("scanner_user_agents"))
        return scanner == (scenario == "scanner_user_agent") and all(
            any(p.upper() in e.user_agent.upper() for p in seeds.load(listed)) for e in own
        )
    if scenario == "wordpress_brute_force":
        return len(own) >= 40 and all(
            e.http_method == "POST"
            and e.status_code == 200
            and e.username is None
            and e.url in ("/wp-login.php", "/xmlrpc.php")
            for e in own
        )
    if scenario == "webshell_probing":
        shells = [name.lower() for name in seeds.load("backdoors")]
        return len(own) >= 5 and all(e.url.lower().rsplit("/", 1)[1].replace("%20", " ") in shells for e in own)
    if scenario == "exploit_probing":
        signatures = [s.upper() for s in seeds.load("exploit_signatures")]
        return all(any(s in e.url.upper() or s in (e.user_agent or "").upper() for s in signatures) for e in own)
    if scenario == "aggressive_crawling":
        seconds = (own[-1].request_timestamp - own[0].request_timestamp) / 1000
        return len({e.user_agent for e in own}) == 1 and len(own) / seconds >= 2 and len(own) >= 150
    if scenario == "open_proxy_probing":
        return all(e.http_method == "CONNECT" or e.url.startswith("http://") for e in own)
    if scenario == "w00tw00t":
        return [e.url.startswith("/w00tw00t.at.") for e in own] == [True]
    if scenario in ("ssi_injection", "crlf_injection"):
        payloads = attacks.SSI_PAYLOADS if scenario == "ssi_injection" else attacks.CRLF_PAYLOADS
        return 1 <= len(own) <= 3 and all(unquote_plus(unquote_plus(e.url.split("=", 1)[1])) in payloads for e in own)
    if scenario in attacks.FAMILY_PAYLOADS:
        payloads, paths = attacks.FAMILY_PAYLOADS[scenario]
        # Each URL is a path of the family and one of its payloads in one of encoded_payload's three encodings.
        sent = {path + quote_plus(p, safe="'()*=,;:/") for path in paths for p in payloads}
        sent |= {path + quote(p, safe="") for path in paths for p in payloads}
        sent |= {path + quote(quote(p, safe=""), safe="") for path in paths for p in payloads}
        return len(own) >= 1 and all(e.url in sent for e in own)
    if scenario == "site_exposure":
        exposed = [e for e in own if any(e.url.endswith(p) or p in e.url for p in seeds.load("exposed_files"))]
        return len(exposed) == len(own) >= 3 and [e.status_code for e in own].count(200) == 1
    if scenario == "mixed_web_attack":
        return len(own) == 7 and len({e.url for e in own}) == 7
    if scenario == "request_flood":
        seconds = (own[-1].request_timestamp - own[0].request_timestamp) / 1000
        return len(own) / seconds >= 15 and seconds >= 50
    if scenario == "switching_user_agents":
        return len({e.user_agent for e in own}) >= 15
    raise AssertionError(scenario)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_carries_its_signature(mixed, scenario):
    traffic, events = mixed
    for label in traffic.labels:
        if label.scenario == scenario:
            own = [event for event in events if event.ip_address == label.attacker_ip]
            assert _signature_holds(scenario, own, label.target_username), label


def backfill_to(out: Path, seed: int):
    """Three simulated minutes at 50 events/s into the file `out` (labels beside it)."""
    return CliRunner().invoke(
        cli,
        ["produce", "--backfill", "--minutes", "3", "--rate", "50", "--seed", str(seed)]
        + ["--start", "2024-01-25T12:00:00Z", "--output", str(out)],
    )


def test_same_seed_and_options_give_byte_identical_output(tmp_path):
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.jsonl"
        result = backfill_to(out, seed=9)
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), out.with_suffix(".labels.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].count(b"\n") > 5000 and outputs[0][1].count(b"\n") == len(SCENARIOS)
    different = tmp_path / "c.jsonl"
    backfill_to(different, seed=10)
    assert different.read_bytes() != outputs[0][0]


def test_an_unknown_scenario_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["produce", "--backfill", "--scenario", "nope", "--output", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "unknown scenario(s) nope" in result.output


@pytest.mark.integration
def test_produce_publishes_events_and_labels_through_the_broker(stack_env, tmp_path):
    from kafka import KafkaConsumer, TopicPartition

    from secmon import settings

    bootstrap = os.environ["SECMON_BOOTSTRAP_SERVERS"]
    file_out = tmp_path / "expected.jsonl"
    args = [
        "produce",
        "--backfill",
        "--minutes",
        "2",
        "--rate",
        "100",
        "--seed",
        "4",
        "--start",
        "2024-02-01T00:00:00Z",
    ]
    assert CliRunner().invoke(cli, args + ["--output", str(file_out)]).exit_code == 0
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(settings.EVENTS_TOPIC, p) for p in range(3)]
    consumer.assign(partitions)
    consumer.seek_to_end()
    start = {tp: consumer.position(tp) for tp in partitions}
    result = CliRunner().invoke(cli, args + ["--labels", str(tmp_path / "labels.jsonl")])
    assert result.exit_code == 0, result.output
    expected = file_out.read_bytes().splitlines()
    received = []
    for tp in partitions:
        consumer.seek(tp, start[tp])
    while len(received) < len(expected):
        batches = consumer.poll(timeout_ms=5000)
        assert batches, f"stalled at {len(received)} of {len(expected)}"
        for records in batches.values():
            for record in records:
                assert record.key == json.loads(record.value)["ip_address"].encode()
                received.append(record.value)
    assert sorted(received) == sorted(expected)
    assert (tmp_path / "labels.jsonl").read_text() == file_out.with_suffix(".labels.jsonl").read_text()


YEAR_MS = 365 * 86_400_000


def first_events(traffic, minutes: float) -> list[Event]:
    cut = traffic.start_ms + minutes * 60_000
    events = []
    for event in traffic.events():
        if event.request_timestamp >= cut:
            break
        events.append(event)
    return events


def test_a_plan_without_end_plans_its_attacks_as_it_goes():
    forever = plan(Mix(rate=20, seed=4), START_MS, math.inf)
    labels = []
    events = []
    for event in forever.events(on_label=labels.append):
        if event.request_timestamp >= START_MS + 25 * 60_000:
            break
        events.append(event)
    # One attack per scenario per 10-minute slot, each planned only when the timeline reaches it:
    # at 25 minutes, the first two slots, the third, and at most the next attack after them.
    per_scenario = Counter(label.scenario for label in labels)
    assert set(per_scenario) == set(SCENARIOS) and set(per_scenario.values()) <= {2, 3, 4}
    assert sum(label.first_event_ms >= START_MS + 30 * 60_000 for label in labels) <= 1
    assert all(label.first_event_ms < START_MS + 40 * 60_000 for label in labels)
    attackers = {label.attacker_ip for label in labels if label.first_event_ms < START_MS + 20 * 60_000}
    assert attackers <= {event.ip_address for event in events}
    with pytest.raises(ValueError, match="without end"):
        _ = forever.labels


@pytest.mark.slow
def test_a_year_long_plan_starts_like_one_without_end_and_in_the_same_memory():
    year = first_events(plan(Mix(rate=50, seed=6), START_MS, YEAR_MS), 12)
    assert year == first_events(plan(Mix(rate=50, seed=6), START_MS, math.inf), 12)

    def peak_bytes(duration_ms: float) -> int:
        tracemalloc.start()
        first_events(plan(Mix(rate=50, seed=6), START_MS, duration_ms), 12)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    assert peak_bytes(YEAR_MS) < 1.5 * peak_bytes(20 * 60_000)


def test_duration_0_and_a_count_of_attacks_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["produce", "--duration", "0", "--attacks", "2", "--output", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "a run without end" in result.output


@pytest.mark.integration
@pytest.mark.parametrize("duration", ["31536000", "0"])
def test_a_realtime_producer_of_a_year_or_without_end_publishes_within_2_s(stack_env, duration):
    import subprocess
    import sys
    import time as clock

    from kafka import KafkaConsumer, TopicPartition

    from secmon import settings

    consumer = KafkaConsumer(bootstrap_servers=os.environ["SECMON_BOOTSTRAP_SERVERS"], enable_auto_commit=False)
    partitions = [TopicPartition(settings.EVENTS_TOPIC, p) for p in range(settings.DEFAULT_PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_end()
    for tp in partitions:
        consumer.position(tp)
    secmon = os.path.join(os.path.dirname(sys.executable), "secmon")
    started = clock.monotonic()
    producer = subprocess.Popen(
        [secmon, "produce", "--rate", "200", "--duration", duration], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        first = None
        while first is None and clock.monotonic() - started < 10:
            if consumer.poll(timeout_ms=100):
                first = clock.monotonic() - started
        assert first is not None and first < 2.0, f"first event after {first} s"
        assert producer.poll() is None  # still running, not planning a year up front
    finally:
        producer.terminate()
        producer.wait(10)
        consumer.close()
