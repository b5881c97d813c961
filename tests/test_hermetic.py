"""The suite talks only to the stacks it starts: a user's exported stack (`eval "$(secmon env)"`) is
neither used nor touched, even when every fixture that needs a stack runs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg2
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from support import run_pytest

from secmon.core import kafka_clients


def test_the_session_stack_answers_whatever_the_environment_said(endpoints, stack_env):
    """Run twice: in the suite, and by the test below in a pytest whose environment names another stack."""
    topic = "hermetic_probe"
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, topic, 1)
    producer = KafkaProducer(bootstrap_servers=os.environ["SECMON_BOOTSTRAP_SERVERS"])
    producer.send(topic, b"here").get(10)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=endpoints.bootstrap_servers, auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, 0)])
    assert b"here" in [record.value for records in consumer.poll(5000).values() for record in records]
    consumer.close()
    with psycopg2.connect(os.environ["SECMON_PG_URL"]) as conn, conn.cursor() as cur:
        cur.execute("select current_user")
        assert cur.fetchone() == ("secmon",)
    conn.close()


def test_fixtures_ignore_a_stack_exported_in_the_environment(tmp_path):
    # A listener that stands for the user's own broker and database: nothing may connect to it.
    with socket.socket() as users_stack:
        users_stack.bind(("127.0.0.1", 0))
        users_stack.listen(8)
        users_stack.setblocking(False)
        port = users_stack.getsockname()[1]
        env = {
            **os.environ,
            "SECMON_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
            "SECMON_PG_URL": f"postgresql://secmon:theirs@127.0.0.1:{port}/secmon",
            "SECMON_PG_HOST": "127.0.0.1",
            "SECMON_PG_PORT": str(port),
            "SECMON_PG_PASSWORD": "theirs",
            "SECMON_STATE_DIR": str(tmp_path / "their-state"),
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
        }
        result = run_pytest(
            f"{Path(__file__).resolve()}::test_the_session_stack_answers_whatever_the_environment_said", env=env
        )
        assert result.returncode == 0, result.stdout[-3000:]
        assert "1 passed" in result.stdout
        try:
            connection, _ = users_stack.accept()
            connection.close()
            raise AssertionError("the suite connected to the stack named by the environment")
        except BlockingIOError:
            pass  # nobody came
    assert not (tmp_path / "their-state").exists()
