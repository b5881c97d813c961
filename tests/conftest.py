"""Shared fixtures: one embedded stack per test session, on free ports, in a temporary state dir."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import psycopg2
import pytest

# Hermetic: the suite talks only to the stacks it starts. A user who ran `eval "$(secmon env)"` (or
# exported any SECMON_* or libpq PG* variable) must not steer it into their own broker or database,
# so those are dropped before secmon is imported. The gated live tests keep the variables that
# name their systems.
LIVE_SYSTEM_VARIABLES = {"SECMON_RISINGWAVE_URL"}
for _name in [name for name in os.environ if name.startswith(("SECMON_", "PG")) and name not in LIVE_SYSTEM_VARIABLES]:
    del os.environ[_name]

from secmon import stack
from secmon.core.children import stop_on_sigterm

# A suite stopped by SIGTERM (`timeout`, a CI runner) tears its stacks down as Ctrl-C does.
stop_on_sigterm()
from secmon.core import kafka_clients
from secmon.core.endpoints import Endpoints, recorded_endpoints

DASHBOARD_TOPIC, DASHBOARD_SCHEMA = "dashboard_logs", "dashboards"
# A test that uses one of these starts a broker and a PostgreSQL (the session's or its own).
STACK_FIXTURES = {"running_stack", "endpoints", "stack_env", "dashboard_data", "stack_options", "stack_options_factory"}
# These build a data set through the whole pipeline first (a `dbt build` included).
SLOW_FIXTURES = {"dashboard_data"}


def pytest_collection_modifyitems(items):
    """Every test that starts a stack is an integration test, and one that needs a data set built
    through the pipeline is slow, whether or not its module says so."""
    for item in items:
        if STACK_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.integration)
        if SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stack_options(**overrides) -> stack.StackOptions:
    return stack.StackOptions(kafka_port=free_port(), pg_port=free_port(), **overrides)


@pytest.fixture
def stack_options():
    """Builds StackOptions on free ports: `stack_options(partitions=2)`."""
    return _stack_options


@pytest.fixture(scope="session")
def stack_options_factory():
    return _stack_options


SESSION_STACK: list[Path] = []  # the session stack's state dir, once started


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory) -> tuple[Path, Endpoints]:
    """An embedded broker + PostgreSQL shared by the whole session; stopped and purged at the end.
    Should one of its servers die mid-session, its logs are kept beside the state dir."""
    state_dir = tmp_path_factory.mktemp("stack") / "state"
    stack.up(state_dir, _stack_options())
    SESSION_STACK.append(state_dir)
    yield state_dir, recorded_endpoints(state_dir)
    if _dead_servers_report(state_dir):
        for log in state_dir.glob("*.log"):
            shutil.copy(log, state_dir.parent / log.name)
    stack.down(state_dir, purge=True)


def _dead_servers_report(state_dir: Path) -> str:
    """When a server of the stack no longer answers: what `status` says, and the end of each log."""
    dead = [row for row in stack.status(state_dir) if not row.healthy]
    if not dead:
        return ""
    lines = [f"{row.component} at {row.address} (pid {row.pid}) does not answer" for row in dead]
    for log in sorted(state_dir.glob("*.log")):
        lines += [f"--- {log.name} ends:", *log.read_text(errors="replace").splitlines()[-40:]]
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test failing on the session stack says whether one of its servers died, and how."""
    report = yield
    if report.failed and SESSION_STACK and "running_stack" in item.fixturenames:
        if dead := _dead_servers_report(SESSION_STACK[0]):
            report.sections.append(("session stack", dead))
    return report


@pytest.fixture(scope="session")
def endpoints(running_stack) -> Endpoints:
    return running_stack[1]


@pytest.fixture
def stack_env(running_stack, monkeypatch) -> Path:
    """Points every command at the session stack through the environment, as `eval "$(secmon env)"` does."""
    state_dir, endpoints = running_stack
    monkeypatch.setenv("SECMON_STATE_DIR", str(state_dir))
    for name, value in endpoints.environment().items():
        monkeypatch.setenv(name, value)
    return state_dir


@pytest.fixture(scope="session")
def dashboard_data(endpoints) -> tuple[str, datetime, datetime]:
    """Twelve minutes of traffic with one attack per scenario, ingested and built by dbt in a schema
    of its own: (PostgreSQL URL, start, end)."""
    from secmon import settings
    from secmon.dbt_runner import run_dbt
    from secmon.engine.ingest import Ingester, ensure_landing_table
    from secmon.enrich import default_lookup, enrich_alerting_addresses
    from secmon.producer.generate import Mix, plan
    from secmon.producer.publish import KafkaSink, publish
    from secmon.stack import postgres

    start, minutes = datetime(2024, 1, 25, 12, 0, tzinfo=UTC), 12
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECMON_PG_SCHEMA", DASHBOARD_SCHEMA)
        kafka_clients.ensure_topic(endpoints.bootstrap_servers, DASHBOARD_TOPIC, 3)
        postgres.ensure_database(endpoints.pg_url, settings.PG_DATABASE, DASHBOARD_SCHEMA)
        traffic = plan(Mix(rate=20, seed=5, attacks_per_scenario=1), int(start.timestamp() * 1000), minutes * 60_000)
        sink = KafkaSink(endpoints.bootstrap_servers, DASHBOARD_TOPIC, "dashboard_labels")
        assert publish(traffic, sink).undelivered == 0
        ensure_landing_table(endpoints)
        ingester = Ingester(endpoints, topic=DASHBOARD_TOPIC, schema=DASHBOARD_SCHEMA)
        ingester.drain()
        ingester.close()
        assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
        with psycopg2.connect(endpoints.pg_url) as conn:  # what `secmon enrich` does
            assert enrich_alerting_addresses(conn, default_lookup(), DASHBOARD_SCHEMA) > 0
        conn.close()
    return endpoints.pg_url, start, start + timedelta(minutes=minutes)


@pytest.fixture
def grafana():
    """The local Grafana test server (Grafana itself cannot run here)."""
    from fake_grafana import (
        FakeGrafana,  # it imports test_dashboards, which imports this module
    )

    server = FakeGrafana()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


RISINGWAVE_URL = os.environ.get("SECMON_RISINGWAVE_URL")
needs_risingwave = pytest.mark.skipif(
    not RISINGWAVE_URL,
    reason="SECMON_RISINGWAVE_URL is not set: RisingWave cannot run here; `make demo-docker` "
    "brings one up with deploy/docker-compose.yml",
)


@pytest.fixture
def risingwave_env(monkeypatch) -> None:
    """SECMON_RISINGWAVE_* (profiles.yml's risingwave target) pointed at SECMON_RISINGWAVE_URL."""
    parsed = urlparse(RISINGWAVE_URL)
    monkeypatch.setenv("SECMON_RISINGWAVE_HOST", parsed.hostname or "localhost")
    monkeypatch.setenv("SECMON_RISINGWAVE_PORT", str(parsed.port or 4566))
    monkeypatch.setenv("SECMON_RISINGWAVE_USER", parsed.username or "root")
