"""The local engine's watermark over a real broker: the event time every partition has reached, and
how far heartbeats may move it."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer, TopicPartition

from secmon import settings
from secmon.core import kafka_clients
from secmon.core.events import Event, EventEncoder, encode_heartbeat
from secmon.engine.ingest import Ingester, ensure_landing_table
from secmon.engine.watermark import Promises
from secmon.stack import postgres

pytestmark = pytest.mark.integration

TOPIC, SCHEMA = "watermark_backlog", "watermark"
START_MS = 1_706_184_000_000


def request(ts_ms: int, ip: str) -> bytes:
    return EventEncoder().encode(
        Event(ts_ms, ip, "curl/8.5.0", "/", "GET", 200, 5, "direct", None, None, "view_page", "low")
    )


def test_the_watermark_waits_for_a_partition_read_behind_the_others(endpoints, monkeypatch):
    """A backlog: partition 1 holds a minute of events, partition 0 one event ten minutes later (the
    consumer reads partition 0 first). Read a few messages at a time, the event time every partition
    has reached stays behind the late event while partition 1 still has events waiting; once all is
    read, it is the newest event."""
    monkeypatch.setenv("SECMON_PG_SCHEMA", SCHEMA)
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, TOPIC, 2)
    postgres.ensure_database(endpoints.pg_url, settings.PG_DATABASE, SCHEMA)
    ensure_landing_table(endpoints)
    early = [START_MS + 600 * number for number in range(100)]
    late = START_MS + 600_000
    producer = KafkaProducer(bootstrap_servers=endpoints.bootstrap_servers)
    producer.send(TOPIC, request(late, "198.51.100.8"), partition=0)
    for ts in early:
        producer.send(TOPIC, request(ts, "198.51.100.7"), partition=1)
    producer.flush()
    producer.close()
    ingester = Ingester(endpoints, topic=TOPIC, schema=SCHEMA, max_batch=7)
    try:
        ingested, reached_while_behind = 0, []
        while ingested < len(early) + 1:
            ingested += ingester.poll_batch(timeout_ms=500).ingested
            if ingester.consumer.position(TopicPartition(TOPIC, 1)) < len(early):
                reached_while_behind.append(ingester.event_time_reached())
        assert ingester.newest_per_partition == {0: late, 1: early[-1]}
        assert reached_while_behind and all(reached is None or reached < late for reached in reached_while_behind)
        assert ingester.event_time_reached() == late
    finally:
        ingester.close()


def test_heartbeats_move_the_watermark_only_to_what_every_live_publisher_promised(endpoints, monkeypatch):
    """Publisher a promises a minute later than publisher b: the heartbeats take the watermark to b's
    promise, never a's, while b is heard from; once b is silent for longer than the timeout, to a's.
    An event newer than every promise moves it as ever."""
    monkeypatch.setenv("SECMON_PG_SCHEMA", SCHEMA)
    topic = "watermark_promises"
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, topic, 2)
    postgres.ensure_database(endpoints.pg_url, settings.PG_DATABASE, SCHEMA)
    ensure_landing_table(endpoints)
    ingester = Ingester(endpoints, topic=topic, schema=SCHEMA)
    clock = [0.0]
    ingester.promises = Promises(timeout_seconds=60, clock=lambda: clock[0])
    producer = KafkaProducer(bootstrap_servers=endpoints.bootstrap_servers)

    def send(*messages: bytes) -> int | None:
        for message in messages:
            for partition in (0, 1):
                producer.send(topic, message, partition=partition)
        producer.flush()
        ingester.drain(idle_timeout_s=5)
        while ingester.poll_batch(timeout_ms=300).heartbeats:
            pass
        return ingester.event_time_reached()

    try:
        assert send(encode_heartbeat(START_MS + 60_000, "a"), encode_heartbeat(START_MS, "b")) == START_MS
        clock[0] = 30.0
        assert send(encode_heartbeat(START_MS + 90_000, "a")) == START_MS  # b is still heard from
        clock[0] = 61.0
        assert send(encode_heartbeat(START_MS + 91_000, "a")) == START_MS + 91_000  # b is gone
        assert send(request(START_MS + 120_000, "198.51.100.9")) == START_MS + 120_000
    finally:
        producer.close()
        ingester.close()
