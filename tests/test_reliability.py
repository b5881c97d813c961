"""Crashes and restarts with real processes: kill -9 of the stream, PostgreSQL restarted under it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import oracle
import psycopg2
import pytest

from secmon import settings, stack
from secmon.core.endpoints import read_state, recorded_endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import ensure_landing_table
from secmon.engine.stream import Stream
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, encode_chunks, send_chunks
from secmon.stack.postgres import EmbeddedPostgres

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECMON = str(Path(sys.executable).with_name("secmon"))
START_MS = 1_706_184_000_000


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack_options_factory):
    """A stack of its own: these tests kill and restart its processes."""
    state_dir = tmp_path_factory.mktemp("crash") / "state"
    stack.up(state_dir, stack_options_factory())
    endpoints = recorded_endpoints(state_dir)
    ensure_landing_table(endpoints)
    assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
    yield state_dir, endpoints
    stack.down(state_dir, purge=True)


def start_stream(state_dir: Path, *args: str) -> subprocess.Popen:
    (state_dir / "stream.json").unlink(missing_ok=True)
    environment = {**os.environ, "SECMON_STATE_DIR": str(state_dir)}
    for name in (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL):
        environment.pop(name, None)
    return subprocess.Popen(
        [SECMON, "stream", "--quiet", "--max-batch", "5000", *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def landed(endpoints) -> tuple[int, int]:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute("select count(*), count(distinct (kafka_partition, kafka_offset)) from secmon.website_logs_source")
        counts = cur.fetchone()
    conn.close()
    return counts


def publish_mix(endpoints, seed: int, minutes: float, rate: float) -> list:
    events = list(plan(Mix(rate=rate, seed=seed, attacks_per_scenario=1), START_MS, int(minutes * 60_000)).events())
    summary = send_chunks(
        encode_chunks(events), KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC)
    )
    assert summary.undelivered == 0
    return events


def views_equal_oracle(endpoints, events) -> None:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        for view in oracle.VIEWS:
            oracle.assert_view_matches(cur, f"secmon.{view}", view, events)
    conn.close()


def test_kill_9_at_random_points_loses_and_duplicates_nothing(own_stack):
    """Six kills, each at a random moment of a restarted stream: the first ones while it ingests
    (between a COPY and its commit, or between two batches), later ones while it refreshes."""
    state_dir, endpoints = own_stack
    events = publish_mix(endpoints, seed=21, minutes=0.75, rate=1000)
    assert len(events) >= 40_000
    chance = random.Random(5)
    landed_after_kill = []
    for _ in range(6):
        proc = start_stream(state_dir)
        wait_for(
            lambda proc=proc: (state_dir / "stream.json").exists() or proc.poll() is not None, 60, "the stream to start"
        )
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(chance.uniform(0.05, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed_after_kill.append(landed(endpoints)[0])
    assert landed_after_kill[0] < len(events), "killed too late to prove anything"
    proc = start_stream(state_dir, "--exit-when-idle", "2")
    assert proc.wait(300) == 0, proc.stderr.read()
    assert landed(endpoints) == (len(events), len(events))
    views_equal_oracle(endpoints, events)


def test_postgres_restarted_under_a_running_stream_loses_nothing(own_stack):
    state_dir, endpoints = own_stack
    before = landed(endpoints)[0]
    proc = start_stream(state_dir, "--exit-when-idle", "4")
    wait_for(lambda: (state_dir / "stream.json").exists(), 60, "the stream to start")
    first = publish_mix(endpoints, seed=22, minutes=0.5, rate=400)
    server = EmbeddedPostgres.from_record(state_dir, read_state(state_dir)["postgres"])
    server.stop()
    time.sleep(1)
    server.start()
    second = publish_mix(endpoints, seed=23, minutes=0.5, rate=400)
    assert proc.wait(120) == 0, proc.stderr.read()
    assert landed(endpoints) == (before + len(first) + len(second),) * 2


@pytest.mark.parametrize("stored_before_cluster_ids", [False, True])
def test_a_broker_restarted_empty_is_read_from_its_start(own_stack, stored_before_cluster_ids):
    """The embedded broker keeps its log in memory: restarted, it is a new cluster with an empty log,
    whose offsets restart at 0. The offsets stored for the old log must not skip the new events:
    by their cluster id even once the new log has grown past them; without one (stored by an older
    secmon), as soon as a fetch shows the log shorter than them."""
    from secmon.core import kafka_clients
    from secmon.engine.ingest import Ingester
    from secmon.stack.broker import EmbeddedBroker

    state_dir, endpoints = own_stack
    ingester = Ingester(endpoints)
    before_restart = publish_mix(endpoints, seed=24, minutes=0.15, rate=400)
    ingester.drain(idle_timeout_s=5)
    ingester.close()
    landed_before = landed(endpoints)[0]
    if stored_before_cluster_ids:
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute("update secmon.website_logs_source_offsets set cluster_id = null")
        conn.close()

    broker = EmbeddedBroker.from_record(state_dir, read_state(state_dir)["kafka"])
    broker.stop()
    broker.start()
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.DEFAULT_PARTITIONS)
    # Without cluster ids only a log shorter than the stored offsets can be told from the old one.
    after_restart = publish_mix(endpoints, seed=25, minutes=0.05 if stored_before_cluster_ids else 0.3, rate=400)
    assert (len(after_restart) < len(before_restart)) == stored_before_cluster_ids

    ingester = Ingester(endpoints)
    ingester.drain(idle_timeout_s=5)
    ingester.close()
    assert ingester.restarted_partitions == list(range(settings.DEFAULT_PARTITIONS))
    assert landed(endpoints)[0] == landed_before + len(after_restart)
    again = Ingester(endpoints)
    again.close()
    assert again.restarted_partitions == [], "the new offsets belong to the new cluster"


def test_ten_days_of_events_keep_only_the_retention(own_stack):
    """A fast clock: ten days of events in event time, streamed in a minute. Events, windows and
    alerts older than the retention (measured from the published alerts' watermark, to the hour) are
    gone; the last days are all there. Runs last in this module: it deletes what the tests above left."""
    state_dir, endpoints = own_stack
    day_ms = 86_400_000
    mix = Mix(rate=0.005, seed=26, attacks_per_scenario=1)
    events = list(plan(mix, START_MS + day_ms, 10 * day_ms).events())
    summary = send_chunks(
        encode_chunks(events), KafkaSink(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC)
    )
    assert summary.undelivered == 0
    Stream(endpoints, state_dir).run(idle_exit_after=3)

    newest = datetime.fromtimestamp(max(event.request_timestamp for event in events) / 1000, UTC)
    published_until = newest - timedelta(milliseconds=settings.WATERMARK_DELAY_MS)
    oldest_kept = published_until - timedelta(milliseconds=settings.RETENTION_MS + Stream.PRUNE_EVERY_MS)
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute("select min(request_timestamp), count(*) from secmon.website_logs_source")
        oldest_event, kept = cur.fetchone()
        assert oldest_event >= oldest_kept
        assert kept >= sum(1 for e in events if e.request_timestamp >= (newest.timestamp() - 6 * 86_400) * 1000)
        cur.execute(
            "select table_name from information_schema.columns"
            " where table_schema = 'secmon' and column_name = 'window_end'"
        )
        windowed = [row[0] for row in cur.fetchall()]
        assert "security_alerts" in windowed and "website_user_metrics" in windowed
        for table in windowed:
            cur.execute(f"select min(window_end) from secmon.{table}")
            oldest_window = cur.fetchone()[0]
            assert oldest_window is None or oldest_window >= oldest_kept, table
    conn.close()
