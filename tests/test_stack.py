"""The embedded stack with real processes: a Tansu broker and a PostgreSQL server."""

from __future__ import annotations

import socket
import subprocess

import psycopg2
import pytest
from click.testing import CliRunner
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from support import processes_mentioning

from secmon import settings, stack
from secmon.cli import cli
from secmon.core.endpoints import recorded_endpoints
from secmon.stack import processes

pytestmark = pytest.mark.integration


@pytest.fixture
def state_dir(tmp_path):
    """A state dir whose stack is stopped whatever the test does."""
    path = tmp_path / "state"
    yield path
    stack.down(path, purge=path.exists())


def test_up_serves_kafka_and_postgres_then_down_leaves_nothing(state_dir, stack_options):
    options = stack_options(partitions=2)
    stack.up(state_dir, options)
    endpoints = recorded_endpoints(state_dir)

    producer = KafkaProducer(bootstrap_servers=endpoints.bootstrap_servers, linger_ms=5)
    for i in range(1000):
        producer.send(settings.EVENTS_TOPIC, key=str(i % 10).encode(), value=f"message {i}".encode())
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=endpoints.bootstrap_servers, enable_auto_commit=False)
    partitions = [TopicPartition(settings.EVENTS_TOPIC, p) for p in range(2)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    received = []
    while len(received) < 1000:
        batches = consumer.poll(timeout_ms=5000)
        assert batches, f"consumer stalled after {len(received)} messages"
        received += [record.value.decode() for records in batches.values() for record in records]
    consumer.close()
    assert sorted(received) == sorted(f"message {i}" for i in range(1000))

    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            "select inet_server_addr()::text, current_database(), "
            "exists(select from information_schema.schemata where schema_name = %s)",
            (settings.pg_schema(),),
        )
        assert cur.fetchone() == ("127.0.0.1/32", settings.PG_DATABASE, True)
    conn.close()

    stopped = stack.down(state_dir)
    assert len(stopped) == 2
    assert processes_mentioning(str(state_dir)) == []
    assert processes.port_is_free(options.host, options.kafka_port)
    assert processes.port_is_free(options.host, options.pg_port)


def test_up_is_idempotent_and_down_twice_is_harmless(state_dir, stack_options):
    options = stack_options()
    first = stack.up(state_dir, options)
    second = stack.up(state_dir, options)
    assert [row.action for row in first] == ["started", "started"]
    assert [row.action for row in second] == ["already running", "already running"]
    assert [row.pid for row in first] == [row.pid for row in second]
    assert all(row.healthy for row in stack.status(state_dir))

    assert len(stack.down(state_dir)) == 2
    assert stack.down(state_dir) == []
    assert stack.status(state_dir) == []
    stack.down(state_dir, purge=True)
    assert not state_dir.exists()


def test_a_taken_port_is_a_one_line_error_naming_the_option(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = CliRunner().invoke(cli, ["up", "--state-dir", str(tmp_path / "state"), "--kafka-port", str(port)])
    assert result.exit_code == 1
    assert result.output == f"Error: port {port} on 127.0.0.1 is already in use; choose another with --kafka-port\n"
    assert processes_mentioning(str(tmp_path)) == []


def test_external_components_are_used_instead_of_starting_new_ones(running_stack, tmp_path, stack_options):
    _, endpoints = running_stack
    options = stack_options(bootstrap_servers=endpoints.bootstrap_servers, pg_url=endpoints.pg_url)
    rows = stack.up(tmp_path / "state", options)
    assert [(row.action, row.pid) for row in rows] == [("external", None), ("external", None)]
    assert processes_mentioning(str(tmp_path)) == []
    assert stack.down(tmp_path / "state") == []


def test_env_prints_exports_a_shell_can_eval(stack_env, endpoints):
    result = CliRunner().invoke(cli, ["env"])
    lines = result.output.splitlines()
    assert lines[:2] == [
        f"export SECMON_BOOTSTRAP_SERVERS={endpoints.bootstrap_servers}",
        f"export SECMON_PG_URL={endpoints.pg_url}",
    ]
    # profiles.yml's local target reads plain variables, no URL to parse
    shell = subprocess.run(
        [
            "bash",
            "-c",
            result.output + 'echo "$SECMON_PG_HOST:$SECMON_PG_PORT/$SECMON_PG_DATABASE '
            '$SECMON_PG_USER $SECMON_PG_SCHEMA"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    host_port_db = endpoints.pg_url.split("@")[1]
    assert shell.stdout.split() == [host_port_db, settings.PG_USER, settings.pg_schema()]


def test_terminate_takes_a_zombie_for_gone():
    """A process killed under a parent that does not reap it stays a zombie: `down` must not wait on it."""
    import subprocess
    import sys
    import time

    import psutil

    from secmon.stack.processes import terminate

    parent = subprocess.Popen(
        [sys.executable, "-c", "import os, time\nif os.fork() == 0:\n    os._exit(0)\ntime.sleep(60)"]
    )
    try:
        deadline = time.monotonic() + 10
        while not (children := psutil.Process(parent.pid).children()) and time.monotonic() < deadline:
            time.sleep(0.05)
        zombie = children[0]
        while zombie.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        terminate(zombie, timeout=5)
        assert time.monotonic() - started < 1
    finally:
        parent.kill()
        parent.wait()
