"""Alerts out of the local engine: each security_alerts row to the `security_alerts` topic, once,
when its window has closed (as RisingWave's EMIT ON WINDOW CLOSE does): the newest event time
seen, less the source's watermark delay, has passed the window's end.

Kafka is the record of what was published: on start the publisher reads the topic's alert ids,
so a crash between sending and noting an alert neither loses nor repeats it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition
from psycopg2 import sql
from psycopg2.extras import execute_values

from secmon import settings
from secmon.core import kafka_clients
from secmon.core.kafka_clients import Producer, consumer_settings
from secmon.errors import SecmonError


def alert_json(columns: list[str], row: tuple) -> bytes:
    """One alert as the RisingWave sink writes it: a JSON object of the table's columns."""
    doc = {name: value.isoformat() if isinstance(value, datetime) else value for name, value in zip(columns, row)}
    return json.dumps(doc, separators=(",", ":")).encode()


def read_topic(bootstrap_servers: str, topic: str, follow: bool = False, poll_ms: int = 1000) -> Iterator[bytes]:
    """Every message of `topic` from the beginning; with `follow`, then waits for new ones."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        **consumer_settings("secmon-alerts"),
    )
    try:
        numbers = consumer.partitions_for_topic(topic) or set()
        partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
        if not partitions:
            return
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        while True:
            batches = consumer.poll(timeout_ms=poll_ms)
            for records in batches.values():
                for record in records:
                    yield record.value
            caught_up = all(
                consumer.highwater(tp) is not None and consumer.position(tp) >= consumer.highwater(tp)
                for tp in partitions
            )
            if not batches and caught_up and not follow:
                return
    finally:
        consumer.close()


class AlertPublisher:
    def __init__(self, conn, bootstrap_servers: str, schema: str, topic: str = settings.ALERTS_TOPIC) -> None:
        self.conn, self.topic = conn, topic
        self.alerts = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(settings.ALERTS_TABLE))
        self.published = sql.SQL("{}.{}").format(
            sql.Identifier(schema), sql.Identifier(f"{settings.ALERTS_TABLE}_published")
        )
        kafka_clients.ensure_topic(bootstrap_servers, topic, 1)
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "create table if not exists {} (alert_id text primary key, "
                    "published_at timestamptz not null default now())"
                ).format(self.published)
            )
            already = [(json.loads(raw)["alert_id"],) for raw in read_topic(bootstrap_servers, topic)]
            if already:
                execute_values(
                    cur,
                    sql.SQL("insert into {} (alert_id) values %s on conflict do nothing")
                    .format(self.published)
                    .as_string(cur),
                    already,
                )
        conn.commit()
        self.producer = Producer(bootstrap_servers, "secmon-alerts")

    def publish_closed(self, watermark: datetime) -> int:
        """Sends the alerts of windows ending at or before `watermark` not published yet; returns how many."""
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "select * from {} as alert where alert.window_end <= %s and not exists "
                    "(select from {} as done where done.alert_id = alert.alert_id)"
                ).format(self.alerts, self.published),
                (watermark,),
            )
            rows = cur.fetchall()
            columns = [column.name for column in cur.description]
        self.conn.rollback()
        if not rows:
            return 0
        for row in rows:
            self.producer.send(self.topic, alert_json(columns, row), row[columns.index("alert_id")].encode())
        if failed := self.producer.flush():
            raise SecmonError(f"{failed} of {len(rows)} alerts could not be sent to {self.topic}")
        with self.conn.cursor() as cur:
            execute_values(
                cur,
                sql.SQL("insert into {} (alert_id) values %s on conflict do nothing")
                .format(self.published)
                .as_string(cur),
                [(row[columns.index("alert_id")],) for row in rows],
            )
        self.conn.commit()
        return len(rows)

    def close(self) -> None:
        self.producer.flush()
