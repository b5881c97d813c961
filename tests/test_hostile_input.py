"""Hostile bytes on the topic: every message lands or is rejected with its reason, nothing crashes
the parser or the ingester, and no offset gets stuck. Property-based with hypothesis."""

from __future__ import annotations

import json
import time

import psycopg2
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from kafka import KafkaProducer

from secmon import settings
from secmon.core import kafka_clients
from secmon.core.addresses import client_address, is_hostname, is_ip
from secmon.core.events import (
    FIELDS,
    HEARTBEAT_PREFIX,
    Event,
    EventEncoder,
    InvalidEvent,
    TimestampFormatter,
    encode_heartbeat,
    is_heartbeat,
    iso_timestamp,
    parse_event,
    parse_heartbeat,
)
from secmon.engine.ingest import Ingester, copy_row, ensure_landing_table
from secmon.stack import postgres

NOW_MS = 1_706_184_000_000
VALID_EVENT = Event(
    NOW_MS, "203.0.113.9", "curl/8.5", "/index.html", "GET", 200, 12, "direct", None, None, "view_page", "low"
)
VALID = EventEncoder().encode(VALID_EVENT)
VALID_DOC = json.loads(VALID)


def variant(**changes) -> bytes:
    return json.dumps({**VALID_DOC, **changes}).encode()


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


HOSTILE = {
    "nesting 10,000 deep": (nested(10_000), "too_deep"),
    "nesting 10,000 deep, as arrays": (b"[" * 10_000 + b"]" * 10_000, "too_deep"),
    "a field nested deeply": (variant(url=json.loads(nested(500))), "bad_type"),
    "a 10 MB message": (variant(url="/" + "x" * 10_000_000), "too_large"),
    "an integer past 64 bits": (variant(status_code=2**70), "bad_value"),
    "an integer of 5,000 digits": (VALID.replace(b'"status_code":200', b'"status_code":' + b"9" * 5000), "bad_number"),
    "NaN": (VALID.replace(b'"response_time":12', b'"response_time":NaN'), "not_json"),
    "Infinity": (VALID.replace(b'"response_time":12', b'"response_time":-Infinity'), "not_json"),
    "a float for an integer": (variant(response_time=1e308), "bad_type"),
    "a boolean for an integer": (variant(status_code=True), "bad_type"),
    "a status outside 100-599": (variant(status_code=999), "bad_value"),
    "a negative response time": (variant(response_time=-5), "bad_value"),
    "duplicate keys": (VALID[:-1] + b',"url":"/other"}', "duplicate_key"),
    "a number as a string": (variant(status_code="200"), "bad_type"),
    "a string as a number": (variant(url=404), "bad_type"),
    "an object for a string": (variant(user_agent={"a": 1}), "bad_type"),
    "invalid UTF-8": (VALID.replace(b"curl", b"c\xc3\x28l"), "not_utf8"),
    "a lone surrogate": (VALID.replace(b"curl", b"\\udc80url"), "lone_surrogate"),
    "a NUL": (VALID.replace(b"curl", b"cu\\u0000rl"), "nul_character"),
    "a raw NUL byte": (VALID.replace(b"curl", b"cu\x00rl"), "not_json"),
    "an IP address of 1,000 characters": (variant(ip_address="1" * 1000), "bad_value"),
    "an empty message": (b"", "not_json"),
    "whitespace": (b" \n\t ", "not_json"),
    "a JSON string": (b'"hello"', "not_object"),
    "a JSON null": (b"null", "not_object"),
    "a timestamp in year 10000": (variant(request_timestamp="10000-01-01T00:00:00Z"), "bad_timestamp"),
    "a timestamp at year 1 with an offset": (variant(request_timestamp="0001-01-01T00:00:00+14:00"), "bad_timestamp"),
    "a timestamp an hour ahead": (variant(request_timestamp="2024-01-25T13:00:00Z"), "future_timestamp"),
    "a timestamp in 2099": (variant(request_timestamp="2099-01-01T00:00:00Z"), "future_timestamp"),
    "a null value (tombstone)": (None, "no_value"),
    # Another shipper's event names the client the firewall would ban: it must be an address.
    "an IPv6 zone id": (variant(ip_address="1::1%x;}"), "bad_address"),
    "an address with a port": (variant(ip_address="203.0.113.7:443"), "bad_address"),
    "a list of addresses": (variant(ip_address="8.8.8.8, 10.0.0.1"), "bad_address"),
    "a CIDR range": (variant(ip_address="10.0.0.0/8"), "bad_address"),
    "an nginx directive": (variant(ip_address="1.2.3.4; allow all"), "bad_address"),
    # Tags are what the detections count: a forged or broken list is refused, not half read.
    "tags that are not a list": (variant(tags="family:sqli"), "bad_type"),
    "a tag of an unknown kind": (variant(tags=["ban:1.2.3.4"]), "bad_value"),
    "a tag with a quote and a brace": (variant(tags=['family:x"},{"y']), "bad_value"),
    "a tag that is a number": (variant(tags=[942100]), "bad_value"),
    "too many tags": (variant(tags=[f"crs:{n}" for n in range(65)]), "bad_value"),
}

ACCEPTED = {
    "extra fields": (variant(extra={"nested": [1, 2, 3]}, another="x"), NOW_MS),
    "tags": (variant(tags=["crs:942100", "family:sqli", "noban:crowdsec:baudneo/zoneminder_cve-2022-39290"]), NOW_MS),
    "no tags (to be classified)": (variant(tags=None), NOW_MS),
    "an offset other than Z": (variant(request_timestamp="2024-01-25T14:00:00.250+02:00"), NOW_MS + 250),
    "a negative offset": (variant(request_timestamp="2024-01-25T07:00:00-05:00"), NOW_MS),
    "no zone (taken as UTC)": (variant(request_timestamp="2024-01-25T12:00:00"), NOW_MS),
    "a timestamp within the tolerated skew": (variant(request_timestamp="2024-01-25T12:04:00Z"), NOW_MS + 240_000),
    "a replay of last year": (variant(request_timestamp="2023-01-25T12:00:00Z"), NOW_MS - 365 * 86_400_000),
    "a very old timestamp": (variant(request_timestamp="1970-01-01T00:00:00Z"), 0),
    "escaped unicode": (VALID.replace(b"curl", b"\\u00e9\\ud83d\\ude00"), NOW_MS),
    "a host name for a client (HostnameLookups On)": (
        variant(ip_address="pcp740115pcs.reston01.va.comcast.net"),
        NOW_MS,
    ),
}


def test_the_client_is_stored_in_its_canonical_form():
    """One address, one spelling: the allowlist, the decisions and the firewall compare strings."""
    for logged, stored in [
        ("::FFFF:8.8.8.8", "8.8.8.8"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("Host.Example.", "host.example"),
    ]:
        assert parse_event(variant(ip_address=logged), LATEST_MS).ip_address == stored


LATEST_MS = NOW_MS + settings.FUTURE_TOLERANCE_MS


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_message_is_rejected_with_its_reason(case):
    raw, code = HOSTILE[case]
    with pytest.raises(InvalidEvent) as rejected:
        parse_event(raw, LATEST_MS)
    assert rejected.value.code == code, str(rejected.value)
    reason = str(rejected.value)
    assert reason.startswith(f"{code}: ") and "\n" not in reason and len(reason) < 300


@pytest.mark.parametrize("case", ACCEPTED)
def test_odd_but_valid_message_is_accepted(case):
    raw, timestamp_ms = ACCEPTED[case]
    event = parse_event(raw, LATEST_MS)
    assert event.request_timestamp == timestamp_ms
    assert copy_row(event, 0, 0, TimestampFormatter()).count(b"\t") == len(FIELDS) + 1  # and partition, offset


def test_without_a_clock_any_date_is_accepted():
    assert parse_event(variant(request_timestamp="2099-01-01T00:00:00Z")).request_timestamp > NOW_MS


# Property-based: generated JSON of every shape, and byte-level mutations of a valid message.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
field_values = st.fixed_dictionaries(
    {}, optional={name: json_values | st.just(value) for name, value in VALID_DOC.items()}
)


@st.composite
def mutated(draw, base: bytes = VALID) -> bytes:
    raw = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        if action == "flip" and position < len(raw):
            raw[position] = draw(st.integers(0, 255))
        elif action == "insert":
            raw[position:position] = draw(
                st.binary(min_size=1, max_size=8)
                | st.sampled_from([b"\\u0000", b"\\ud800", b"NaN", b"{", b"[", b'"', b",", b"\xff", b"9" * 30])
            )
        elif action == "delete":
            del raw[position : position + draw(st.integers(1, 8))]
        elif action == "truncate":
            del raw[position:]
        elif action == "repeat":
            raw[position:position] = raw[position : position + 12] * draw(st.integers(1, 50))
    return bytes(raw)


messages = (
    st.binary(max_size=300)
    | mutated()
    | field_values.map(lambda doc: json.dumps(doc).encode())
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.none()
)


def outcome(raw: bytes | None, latest_ms: int = LATEST_MS) -> Event | InvalidEvent:
    try:
        event = parse_event(raw, latest_ms)
    except InvalidEvent as exc:
        return exc
    copy_row(event, 0, 0, TimestampFormatter())  # an accepted event always makes a landing row
    return event


@pytest.mark.slow
@hypothesis_settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_the_parser_accepts_or_rejects_any_bytes(raw):
    result = outcome(raw)
    if isinstance(result, InvalidEvent):
        assert "\n" not in str(result) and result.code.isidentifier()
    else:
        assert result.request_timestamp <= LATEST_MS
        assert result.ip_address == client_address(json.loads(raw)["ip_address"])  # canonical, or a host name
        assert is_ip(result.ip_address) or is_hostname(result.ip_address)


def test_a_heartbeat_round_trips_and_is_held_to_the_ingest_clock():
    assert is_heartbeat(encode_heartbeat(NOW_MS)) and not is_heartbeat(VALID)
    assert parse_heartbeat(encode_heartbeat(NOW_MS, "web-1"), LATEST_MS) == (NOW_MS, "web-1")
    assert parse_heartbeat(HEARTBEAT_PREFIX + b'"request_timestamp":"2024-01-25T12:00:00Z"}').publisher == ""
    with pytest.raises(InvalidEvent, match="^future_timestamp: "):
        parse_heartbeat(encode_heartbeat(LATEST_MS + 1), LATEST_MS)  # a forged one cannot close every window
    for forged in (
        HEARTBEAT_PREFIX + b'"request_timestamp":"x"}',
        HEARTBEAT_PREFIX + b'"ip_address":"1.2.3.4"}',
        encode_heartbeat(NOW_MS, "p" * 65),  # a publisher name is short: the engine keeps each for a while
    ):
        with pytest.raises(InvalidEvent, match="^(bad_heartbeat|bad_timestamp): "):
            parse_heartbeat(forged, LATEST_MS)


@pytest.mark.slow
@hypothesis_settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(encode_heartbeat(NOW_MS)))
def test_a_mangled_heartbeat_is_a_heartbeat_an_event_or_a_one_line_reject(raw):
    try:
        if is_heartbeat(raw):
            assert parse_heartbeat(raw, LATEST_MS).epoch_ms <= LATEST_MS
        else:
            parse_event(raw, LATEST_MS)
    except InvalidEvent as exc:
        assert "\n" not in str(exc) and exc.code.isidentifier()


# Through the real broker and the ingester.
TOPIC, SCHEMA = "hostile_logs", "hostile"


@pytest.fixture(scope="module")
def hostile_topic(endpoints):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECMON_PG_SCHEMA", SCHEMA)
        kafka_clients.ensure_topic(endpoints.bootstrap_servers, TOPIC, 2)
        postgres.ensure_database(endpoints.pg_url, settings.PG_DATABASE, SCHEMA)
        ensure_landing_table(endpoints)
        producer = KafkaProducer(
            bootstrap_servers=endpoints.bootstrap_servers, max_request_size=16 * 2**20, linger_ms=5
        )
        yield producer
        producer.close()


def counts(endpoints) -> tuple[int, int]:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            f"select (select count(*) from {SCHEMA}.website_logs_source), "
            f"(select count(*) from {SCHEMA}.website_logs_source_rejects)"
        )
        landed = cur.fetchone()
    conn.close()
    return landed


def produce_and_ingest(endpoints, producer: KafkaProducer, values: list[bytes | None]) -> tuple[int, int]:
    """Sends `values` (with and without keys), drains them; returns (landed, rejected) added."""
    before = counts(endpoints)
    for number, value in enumerate(values):
        producer.send(TOPIC, key=b"k" if number % 2 or value is None else None, value=value, partition=number % 2)
    producer.flush()
    ingester = Ingester(endpoints, topic=TOPIC, schema=SCHEMA)
    try:
        deadline = time.monotonic() + 60
        while sum(counts(endpoints)) - sum(before) < len(values) and time.monotonic() < deadline:
            ingester.poll_batch(timeout_ms=200)
        assert ingester.drained()
    finally:
        ingester.close()
    after = counts(endpoints)
    return after[0] - before[0], after[1] - before[1]


@pytest.mark.integration
def test_every_hostile_message_through_the_broker_is_rejected_and_ingest_goes_on(endpoints, hostile_topic):
    now_ms = int(time.time() * 1000)
    fresh = EventEncoder().encode(VALID_EVENT._replace(request_timestamp=now_ms))
    an_hour_ahead = variant(request_timestamp=iso_timestamp(now_ms + 3_600_000))
    values = [an_hour_ahead if case == "a timestamp an hour ahead" else raw for case, (raw, _) in HOSTILE.items()]
    values.append(fresh)
    assert produce_and_ingest(endpoints, hostile_topic, values) == (1, len(HOSTILE))
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select split_part(reason, ':', 1), count(*) from {SCHEMA}.website_logs_source_rejects group by 1")
        reasons = dict(cur.fetchall())
    conn.close()
    expected: dict[str, int] = {}
    for _, code in HOSTILE.values():
        expected[code] = expected.get(code, 0) + 1
    assert reasons == expected


@pytest.mark.integration
@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(messages | st.just(VALID), min_size=1, max_size=60))
def test_fuzzed_messages_through_the_broker_all_land_or_are_rejected(endpoints, hostile_topic, values):
    latest_ms = int(time.time() * 1000) + settings.FUTURE_TOLERANCE_MS
    expected_landed = sum(isinstance(outcome(raw, latest_ms), Event) for raw in values)
    landed, rejected = produce_and_ingest(endpoints, hostile_topic, values)
    assert (landed, rejected) == (expected_landed, len(values) - expected_landed)
