"""Detections on the local engine, scored against the producer's labels, and alerts out to Kafka."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer

from secmon import settings, stack
from secmon.core.endpoints import recorded_endpoints
from secmon.core.events import Event, EventEncoder
from secmon.dbt_runner import run_dbt
from secmon.engine.alerts import read_topic
from secmon.engine.ingest import ensure_landing_table
from secmon.engine.stream import Stream
from secmon.evaluate import Label, read_alerts, score
from secmon.producer.attacks import SCENARIOS
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START_MS = 1_706_184_000_000
MIX = Mix(rate=30, seed=41, attacks_per_scenario=2)
MINUTES = 30
LATE_MS = START_MS + (MINUTES + 10) * 60_000  # the hand-made threshold cases, after the mix


def failed_login(ts_ms: int, ip: str, username: str) -> Event:
    return Event(
        ts_ms, ip, "python-requests/2.31.0", "/login", "POST", 401, 200, "direct", None, username, "login", "high"
    )


@pytest.fixture(scope="module")
def detected(tmp_path_factory, stack_options_factory):
    """A stack of its own: a mixed backfill with labelled attacks plus hand-made threshold cases,
    streamed through the engine (which publishes the alerts)."""
    state_dir = tmp_path_factory.mktemp("detections") / "state"
    stack.up(state_dir, stack_options_factory())
    endpoints = recorded_endpoints(state_dir)
    labels_path = state_dir / "labels.jsonl"
    traffic = plan(MIX, START_MS, MINUTES * 60_000)
    assert (
        publish(
            traffic, KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC, labels_path)
        ).undelivered
        == 0
    )
    # Brute force threshold (10 failures per account per IP in 5 minutes): 9 stays quiet, 10 alerts.
    producer = KafkaProducer(bootstrap_servers=endpoints.bootstrap_servers)
    encode = EventEncoder().encode
    late = LATE_MS
    for count, ip in ((9, "198.51.100.9"), (10, "198.51.100.10")):
        for i in range(count):
            producer.send(settings.EVENTS_TOPIC, encode(failed_login(late + i * 1000, ip, f"victim_{count}")))
    # A later event moves the engine's watermark past every window above, closing them.
    producer.send(settings.EVENTS_TOPIC, encode(failed_login(late + 3_600_000, "198.51.100.1", "clock")))
    producer.flush()
    producer.close()
    ensure_landing_table(endpoints)
    assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
    runner = Stream(endpoints, state_dir)
    runner.run(idle_exit_after=2)
    yield state_dir, endpoints, traffic, runner.status.alerts_published
    stack.down(state_dir, purge=True)


def test_every_scenario_is_found_with_no_false_alert(detected):
    state_dir, endpoints, traffic, _ = detected
    labels = [
        Label(t.scenario, t.attacker_ip, t.target_username, t.first_event_ms, t.last_event_ms) for t in traffic.labels
    ]
    labels.append(Label("brute_force", "198.51.100.10", "victim_10", LATE_MS, LATE_MS + 9000))
    result = score(labels, read_alerts(endpoints.pg_url, settings.pg_schema()))
    table = {row["scenario"]: (row["precision"], row["recall"]) for row in result["scenarios"]}
    assert table == {scenario: (1.0, 1.0) for scenario in table}
    assert set(table) == set(SCENARIOS)  # every attack the producer makes is some detection's scenario


def test_thresholds_decide(detected):
    _, endpoints, _, _ = detected
    alerted = {
        alert.entity
        for alert in read_alerts(endpoints.pg_url, settings.pg_schema())
        if alert.detection == "brute_force"
    }
    assert "198.51.100.10" in alerted
    assert "198.51.100.9" not in alerted


def test_each_alert_reaches_the_topic_exactly_once_when_its_window_closes(detected):
    state_dir, endpoints, _, published = detected
    alerts = read_alerts(endpoints.pg_url, settings.pg_schema())
    messages = [json.loads(raw) for raw in read_topic(endpoints.bootstrap_servers, settings.ALERTS_TOPIC)]
    assert published == len(alerts) == len(messages) == len({m["alert_id"] for m in messages}) > 20
    # A restarted engine publishes nothing again.
    runner = Stream(endpoints, state_dir)
    runner.run(idle_exit_after=1)
    assert runner.status.alerts_published == 0
    assert len(list(read_topic(endpoints.bootstrap_servers, settings.ALERTS_TOPIC))) == len(messages)
