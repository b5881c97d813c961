"""The local stack: a broker and a PostgreSQL, embedded (started here) or external (given by URL).

Both are components of one kind (`Component`): the stack starts, finds, checks and stops them the
same way. What runs is recorded in `<state dir>/stack.json` (`secmon.core.endpoints` reads it), so
every later command finds the addresses.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from secmon import settings
from secmon.core import kafka_clients
from secmon.core.endpoints import Endpoints, read_state, recorded_endpoints, redacted, state_file
from secmon.core.files import write_json
from secmon.errors import SecmonError
from secmon.stack import postgres, processes
from secmon.stack.broker import EmbeddedBroker
from secmon.stack.postgres import EmbeddedPostgres
from secmon.stack.processes import Embedded


@dataclass(frozen=True)
class StackOptions:
    host: str = settings.DEFAULT_HOST
    kafka_port: int = settings.DEFAULT_KAFKA_PORT
    pg_port: int = settings.DEFAULT_PG_PORT
    partitions: int = settings.DEFAULT_PARTITIONS
    bootstrap_servers: str | None = None  # an external broker instead of the embedded one
    pg_url: str | None = None  # an external PostgreSQL instead of the embedded one


@dataclass(frozen=True)
class ComponentStatus:
    component: str
    address: str
    pid: int | None
    managed: bool
    healthy: bool
    action: str = ""
    auth: str = ""


@dataclass(frozen=True)
class Component:
    """One kind of server the stack needs: how to find it given, embedded, or recorded."""

    name: str  # its key in stack.json
    option: str  # the CLI option that gives an external one
    given: Callable[[StackOptions], str | None]
    embedded: Callable[[Path, StackOptions], Embedded]
    from_record: Callable[[Path, dict], Embedded]
    answers: Callable[[str], bool]
    external_auth: Callable[[str], str]


COMPONENTS = (
    Component(
        "kafka",
        "--bootstrap-server",
        lambda o: o.bootstrap_servers,
        lambda state_dir, o: EmbeddedBroker(state_dir, o.host, o.kafka_port),
        EmbeddedBroker.from_record,
        lambda address: kafka_clients.broker_answers(address, timeout_ms=5000),
        lambda _address: kafka_clients.auth_description(),
    ),
    Component(
        "postgres",
        "--pg-url",
        lambda o: o.pg_url,
        lambda state_dir, o: EmbeddedPostgres(state_dir, o.host, o.pg_port),
        EmbeddedPostgres.from_record,
        lambda url: postgres.database_answers(url, timeout=5),
        postgres.auth_description,
    ),
)


def _write_state(state_dir: Path, state: dict) -> None:
    write_json(state_file(state_dir), state)


def ensure_private_dir(state_dir: Path) -> None:
    """The state dir holds the database's password and the broker's data: its owner's alone. One that
    another user may write to is refused (they could swap a file under us), one they may read is closed."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = state_dir.stat().st_mode
    if mode & 0o022:
        raise SecmonError(
            f"state dir {state_dir} is writable by other users (mode {mode & 0o777:o}): "
            f"run `chmod 700 {state_dir}` or choose another with --state-dir"
        )
    if mode & 0o077:
        state_dir.chmod(mode & 0o700)


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One `up` or `down` at a time per state dir: never two brokers on one state dir."""
    ensure_private_dir(state_dir)
    with open(processes.open_private(state_dir / ".lock", os.O_WRONLY)) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _recorded_server(component: Component, state_dir: Path, record: dict) -> Embedded | None:
    """The embedded server `up` recorded for `component`, if it still runs."""
    if not record.get("managed"):
        return None
    server = component.from_record(state_dir, record)
    return server if server.process() is not None else None


def _is_external(given: str | None, record: dict) -> bool:
    # `eval "$(secmon env)"` exports our own addresses; they are not external components.
    return bool(given) and not (record.get("managed") and record.get("endpoint") == given)


def _up_one(component: Component, state_dir: Path, state: dict, options: StackOptions) -> ComponentStatus:
    record, given = state.get(component.name, {}), component.given(options)
    if _is_external(given, record):
        if not component.answers(given):
            raise SecmonError(f"{component.name} at {given} does not answer (from {component.option})")
        state[component.name] = {"endpoint": given, "managed": False}
        return ComponentStatus(
            component.name, redacted(given), None, False, True, "external", component.external_auth(given)
        )
    server = _recorded_server(component, state_dir, record) or component.embedded(state_dir, options)
    action = "already running" if server.process() is not None else "started"
    if action == "started":
        server.start()
    state[component.name] = server.record()
    return ComponentStatus(
        component.name, redacted(server.endpoint), server.process().pid, True, True, action, server.auth
    )


def up(state_dir: Path, options: StackOptions) -> list[ComponentStatus]:
    """Start (or find running) the broker and PostgreSQL, then create the topic, database and schema."""
    with _locked(state_dir):
        state = read_state(state_dir)
        statuses = []
        try:
            for component in COMPONENTS:
                statuses.append(_up_one(component, state_dir, state, options))
        finally:
            _write_state(state_dir, state)  # so that `down` stops whatever did start
        endpoints = recorded_endpoints(state_dir)
        kafka_clients.ensure_topic(endpoints.bootstrap_servers, settings.EVENTS_TOPIC, options.partitions)
        postgres.ensure_database(endpoints.pg_url, settings.PG_DATABASE, settings.DEFAULT_PG_SCHEMA)
    return statuses


def down(state_dir: Path, purge: bool = False) -> list[str]:
    """Stop what `up` started and wait for it to exit; with `purge`, delete the state dir too."""
    stopped = []
    if not state_dir.exists():
        return stopped
    with _locked(state_dir):
        state = read_state(state_dir)
        for component in COMPONENTS:
            record = state.get(component.name, {})
            if not record.get("managed"):
                continue
            server = component.from_record(state_dir, record)
            if server.process() is not None:
                server.stop()
                stopped.append(f"{component.name} {server.address}")
            if purge:
                server.purge()
        state_file(state_dir).unlink(missing_ok=True)
    if purge:
        shutil.rmtree(state_dir)
    return stopped


def status(state_dir: Path) -> list[ComponentStatus]:
    state = read_state(state_dir)
    statuses = []
    for component in COMPONENTS:
        record = state.get(component.name)
        if not record:
            continue
        if record.get("managed"):
            server = component.from_record(state_dir, record)
            proc = server.process()
            statuses.append(
                ComponentStatus(
                    component.name,
                    redacted(server.endpoint),
                    proc.pid if proc else None,
                    True,
                    server.answers(),
                    auth=server.auth,
                )
            )
        else:
            endpoint = record["endpoint"]
            statuses.append(
                ComponentStatus(
                    component.name,
                    redacted(endpoint),
                    None,
                    False,
                    component.answers(endpoint),
                    auth=component.external_auth(endpoint),
                )
            )
    return statuses


def libpq_environment(state_dir: Path, endpoints: Endpoints) -> dict[str, str]:
    """libpq's variables for the owner's PostgreSQL (`secmon env`), the passwords of the owner and the
    reader in `<state dir>/pgpass`, the owner's alone like the state dir."""
    ensure_private_dir(state_dir)
    urls = list(dict.fromkeys((endpoints.pg_url, endpoints.reader_url)))
    return postgres.libpq_environment(urls, state_dir / "pgpass")


@contextmanager
def temporary(options: StackOptions) -> Iterator[tuple[Path, Endpoints]]:
    """A stack of its own in a temporary state dir, purged on exit (tests, benchmarks, one-off runs).
    It yields that stack's own addresses, never the environment's."""
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        up(state_dir, options)
        try:
            yield state_dir, recorded_endpoints(state_dir)
        finally:
            down(state_dir, purge=True)
