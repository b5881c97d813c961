"""The models on a real RisingWave + Kafka: `dbt build -t risingwave`, then the oracle comparison.

Runs only when SECMON_RISINGWAVE_URL (postgresql://root@host:4566/dev) and a broker are given:
SECMON_BOOTSTRAP_SERVERS for this process, SECMON_SOURCE_BOOTSTRAP_SERVERS for RisingWave if it
reaches the broker by another address. `deploy/docker-compose.yml` brings both up.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlparse

import oracle
import psycopg2
import pytest

from secmon import settings
from secmon.core.events import Event, EventEncoder
from secmon.core.kafka_clients import Producer
from secmon.dbt_runner import run_dbt
from secmon.follow import send_heartbeats
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, publish
from secmon.risingwave import RisingWave, ensure_kafka_connection

URL = os.environ.get("SECMON_RISINGWAVE_URL")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not URL,
        reason="SECMON_RISINGWAVE_URL is not set: no RisingWave to test against "
        "(RisingWave cannot run here; see deploy/docker-compose.yml)",
    ),
]

START_MS, DURATION_MS = 1_706_184_000_000, 4 * 60_000
MIX = Mix(rate=40, seed=31, attacks_per_scenario=1)


@pytest.fixture(scope="module")
def risingwave():
    parsed = urlparse(URL)
    bootstrap = os.environ["SECMON_BOOTSTRAP_SERVERS"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECMON_RISINGWAVE_HOST", parsed.hostname or "localhost")
        patch.setenv("SECMON_RISINGWAVE_PORT", str(parsed.port or 4566))
        patch.setenv("SECMON_RISINGWAVE_USER", parsed.username or "root")
        patch.setenv("SECMON_RISINGWAVE_PASSWORD", parsed.password or "")
        patch.setenv("SECMON_RISINGWAVE_DATABASE", (parsed.path or "/dev").lstrip("/") or "dev")
        summary = publish(
            plan(MIX, START_MS, DURATION_MS), KafkaSink(bootstrap, settings.EVENTS_TOPIC, settings.LABELS_TOPIC)
        )
        assert summary.undelivered == 0
        deployer = RisingWave.from_environment()
        conn = deployer.connect()
        ensure_kafka_connection(conn, deployer.schema)  # what `secmon deploy` does first
        conn.close()
        assert run_dbt(["build", "-t", "risingwave", "--full-refresh"], None) == 0
        yield psycopg2.connect(URL), list(plan(MIX, START_MS, DURATION_MS).events())


def test_views_on_risingwave_equal_the_oracle(risingwave):
    conn, events = risingwave
    conn.autocommit = True
    deadline = time.monotonic() + 120
    with conn.cursor() as cur:
        while True:  # the source is read asynchronously: wait until every event is counted
            cur.execute("select coalesce(sum(referrer_visit_count), 0) from referrer_activity_summary")
            if cur.fetchone()[0] >= len(events) or time.monotonic() > deadline:
                break
            time.sleep(1)
        for view in oracle.VIEWS:
            oracle.assert_view_matches(cur, view, view, events)


def test_a_burst_on_a_silent_site_alerts_on_heartbeats_alone(risingwave):
    """As tests/test_quiet_site.py on the local engine: twelve failed logins now, then only the
    heartbeats `secmon follow` sends; the burst's window closes and reaches security_alerts."""
    conn, _ = risingwave
    conn.autocommit = True
    producer = Producer(os.environ["SECMON_BOOTSTRAP_SERVERS"], "secmon-test")
    attacker, now_ms = "203.0.113.78", int(time.time() * 1000)
    encode = EventEncoder().encode
    for attempt in range(12):
        failure = Event(now_ms + attempt, attacker, "python-requests/2.31", f"/login?try={attempt}", "POST", 401,
                        None, None, None, "admin", "login", "high")  # fmt: skip
        producer.send(settings.EVENTS_TOPIC, encode(failure), attacker.encode())
    assert producer.flush() == 0
    partitions = producer.partitions(settings.EVENTS_TOPIC)
    bound = settings.WATERMARK_DELAY_MS / 1000 + int(settings.dbt_vars()["burst_span_seconds"]) + 10
    with conn.cursor() as cur:
        while time.time() - now_ms / 1000 < bound:
            send_heartbeats(producer, settings.EVENTS_TOPIC, partitions, "live-test", int(time.time() * 1000))
            cur.execute(
                f"select count(*) from {settings.ALERTS_TABLE} where detection = 'crowdsec_burst' and entity = %s",
                (attacker,),
            )
            if cur.fetchone()[0]:
                return
            time.sleep(2)
    pytest.fail(f"no crowdsec_burst alert for {attacker} within {bound:.0f} s of its last request")
