"""The local stack: a broker and a PostgreSQL, embedded (started here) or external (given by URL).

What runs is recorded in `<state dir>/stack.json`, so every later command finds the addresses.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from psycopg2.extensions import parse_dsn

from secmon import settings
from secmon.errors import SecmonError
from secmon.stack import postgres, topics
from secmon.stack.broker import EmbeddedBroker
from secmon.stack.postgres import EmbeddedPostgres


@dataclass(frozen=True)
class StackOptions:
    host: str = settings.DEFAULT_HOST
    kafka_port: int = settings.DEFAULT_KAFKA_PORT
    pg_port: int = settings.DEFAULT_PG_PORT
    partitions: int = settings.DEFAULT_PARTITIONS
    bootstrap_servers: str | None = None  # an external broker instead of the embedded one
    pg_url: str | None = None  # an external PostgreSQL instead of the embedded one


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    pg_url: str

    @classmethod
    def default(cls) -> Endpoints:
        """Where `secmon up` starts the embedded stack with its default ports."""
        return cls(f"{settings.DEFAULT_HOST}:{settings.DEFAULT_KAFKA_PORT}",
                   settings.pg_url(settings.DEFAULT_HOST, settings.DEFAULT_PG_PORT))

    def environment(self) -> dict[str, str]:
        """The addresses as the plain variables profiles.yml's `local` target and scripts read."""
        dsn = parse_dsn(self.pg_url)
        return {
            settings.ENV_BOOTSTRAP: self.bootstrap_servers,
            settings.ENV_PG_URL: self.pg_url,
            "SECMON_PG_HOST": dsn.get("host", settings.DEFAULT_HOST),
            "SECMON_PG_PORT": dsn.get("port", "5432"),
            "SECMON_PG_USER": dsn.get("user", settings.PG_USER),
            "SECMON_PG_PASSWORD": dsn.get("password", ""),
            "SECMON_PG_DATABASE": dsn.get("dbname", settings.PG_DATABASE),
            settings.ENV_PG_SCHEMA: settings.pg_schema(),
        }


@dataclass(frozen=True)
class ComponentStatus:
    component: str
    address: str
    pid: int | None
    managed: bool
    healthy: bool
    action: str = ""


def _state_file(state_dir: Path) -> Path:
    return state_dir / "stack.json"


def read_state(state_dir: Path) -> dict:
    try:
        return json.loads(_state_file(state_dir).read_text())
    except FileNotFoundError:
        return {}


def _write_state(state_dir: Path, state: dict) -> None:
    tmp = _state_file(state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(_state_file(state_dir))


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One `up` or `down` at a time per state dir: never two brokers on one state dir."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _embedded_broker(state_dir: Path, state: dict, options: StackOptions) -> EmbeddedBroker:
    recorded = state.get("kafka", {})
    if recorded.get("managed"):
        running = EmbeddedBroker(state_dir, *_host_port(recorded["address"]))
        if running.process() is not None:
            return running
    return EmbeddedBroker(state_dir, options.host, options.kafka_port)


def _embedded_postgres(state_dir: Path, state: dict, options: StackOptions) -> EmbeddedPostgres:
    recorded = state.get("postgres", {})
    if recorded.get("managed"):
        running = EmbeddedPostgres(state_dir, recorded["host"], recorded["port"])
        if running.process() is not None:
            return running
    return EmbeddedPostgres(state_dir, options.host, options.pg_port)


def _is_external(given: str | None, recorded: dict, key: str) -> bool:
    # `eval "$(secmon env)"` exports our own addresses; they are not external components.
    return bool(given) and not (recorded.get("managed") and recorded.get(key) == given)


def up(state_dir: Path, options: StackOptions) -> list[ComponentStatus]:
    """Start (or find running) the broker and PostgreSQL, then create the topic, database and schema."""
    with _locked(state_dir):
        state = read_state(state_dir)
        try:
            statuses = [_up_kafka(state_dir, state, options), _up_postgres(state_dir, state, options)]
        finally:
            _write_state(state_dir, state)  # so that `down` stops whatever did start
        topics.ensure_topic(state["kafka"]["address"], settings.EVENTS_TOPIC, options.partitions)
        postgres.ensure_database(state["postgres"]["url"], settings.PG_DATABASE, settings.PG_SCHEMA)
    return statuses


def _ensure_started(server: EmbeddedBroker | EmbeddedPostgres) -> str:
    """Starts the server unless it runs; says which."""
    if server.process() is not None:
        return "already running"
    server.start()
    return "started"


def _up_kafka(state_dir: Path, state: dict, options: StackOptions) -> ComponentStatus:
    if _is_external(options.bootstrap_servers, state.get("kafka", {}), "address"):
        if not topics.broker_answers(options.bootstrap_servers, timeout_ms=5000):
            raise SecmonError(f"Kafka broker at {options.bootstrap_servers} does not answer (from --bootstrap-server)")
        state["kafka"] = {"address": options.bootstrap_servers, "managed": False}
        return ComponentStatus("kafka", options.bootstrap_servers, None, False, True, "external")
    broker = _embedded_broker(state_dir, state, options)
    action = _ensure_started(broker)
    state["kafka"] = {"address": broker.address, "managed": True}
    return ComponentStatus("kafka", broker.address, broker.process().pid, True, True, action)


def _up_postgres(state_dir: Path, state: dict, options: StackOptions) -> ComponentStatus:
    if _is_external(options.pg_url, state.get("postgres", {}), "url"):
        if not postgres.database_answers(options.pg_url.rsplit("/", 1)[0] + "/postgres", timeout=5):
            raise SecmonError(f"PostgreSQL at {options.pg_url} does not answer (from --pg-url)")
        state["postgres"] = {"url": options.pg_url, "managed": False}
        return ComponentStatus("postgres", options.pg_url, None, False, True, "external")
    server = _embedded_postgres(state_dir, state, options)
    action = _ensure_started(server)
    state["postgres"] = {"url": server.url, "host": server.host, "port": server.port, "managed": True}
    return ComponentStatus("postgres", server.url, server.process().pid, True, True, action)


def down(state_dir: Path, purge: bool = False) -> list[str]:
    """Stop what `up` started and wait for it to exit; with `purge`, delete the state dir too."""
    stopped = []
    if not state_dir.exists():
        return stopped
    with _locked(state_dir):
        state = read_state(state_dir)
        kafka_state, pg_state = state.get("kafka", {}), state.get("postgres", {})
        if kafka_state.get("managed"):
            broker = EmbeddedBroker(state_dir, *_host_port(kafka_state["address"]))
            if broker.process() is not None:
                broker.stop()
                stopped.append(f"kafka {broker.address}")
        if pg_state.get("managed"):
            server = EmbeddedPostgres(state_dir, pg_state["host"], pg_state["port"])
            if server.process() is not None:
                server.stop()
                stopped.append(f"postgres {server.host}:{server.port}")
            if purge and server.socket_dir != state_dir / "run":
                shutil.rmtree(server.socket_dir, ignore_errors=True)
        _state_file(state_dir).unlink(missing_ok=True)
    if purge:
        shutil.rmtree(state_dir)
    return stopped


def status(state_dir: Path) -> list[ComponentStatus]:
    state = read_state(state_dir)
    statuses = []
    kafka_state, pg_state = state.get("kafka"), state.get("postgres")
    if kafka_state:
        pid = None
        if kafka_state["managed"]:
            proc = EmbeddedBroker(state_dir, *_host_port(kafka_state["address"])).process()
            pid = proc.pid if proc else None
        statuses.append(ComponentStatus("kafka", kafka_state["address"], pid, kafka_state["managed"],
                                        topics.broker_answers(kafka_state["address"])))
    if pg_state:
        pid = None
        if pg_state["managed"]:
            proc = EmbeddedPostgres(state_dir, pg_state["host"], pg_state["port"]).process()
            pid = proc.pid if proc else None
        statuses.append(ComponentStatus("postgres", pg_state["url"], pid, pg_state["managed"],
                                        postgres.database_answers(pg_state["url"])))
    return statuses


def _address(state_dir: Path, given: str | None, env_name: str, component: str, key: str) -> str:
    """The option, else the environment, else what `up` recorded for `component`."""
    found = given or os.environ.get(env_name) or read_state(state_dir).get(component, {}).get(key)
    if not found:
        raise SecmonError(f"no stack is recorded in {state_dir}: run `secmon up` first (or set {env_name})")
    return found


def postgres_url(state_dir: Path, pg_url: str | None = None) -> str:
    return _address(state_dir, pg_url, settings.ENV_PG_URL, "postgres", "url")


def bootstrap_servers(state_dir: Path, servers: str | None = None) -> str:
    return _address(state_dir, servers, settings.ENV_BOOTSTRAP, "kafka", "address")


def endpoints(state_dir: Path, servers: str | None = None, pg_url: str | None = None) -> Endpoints:
    """Where the broker and PostgreSQL are: options and environment first, then what `up` recorded."""
    return Endpoints(bootstrap_servers(state_dir, servers), postgres_url(state_dir, pg_url))


def as_dict(status_row: ComponentStatus) -> dict:
    return asdict(status_row)


@contextmanager
def temporary(options: StackOptions) -> Iterator[tuple[Path, Endpoints]]:
    """A stack of its own in a temporary state dir, purged on exit (benchmarks, one-off runs)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        up(state_dir, options)
        try:
            yield state_dir, endpoints(state_dir)
        finally:
            down(state_dir, purge=True)
