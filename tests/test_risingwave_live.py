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
from secmon.dbt_runner import run_dbt
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
