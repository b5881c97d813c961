"""Where the broker and PostgreSQL are: resolved from options, then the environment, then the state
that `secmon up` recorded (`<state dir>/stack.json`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from psycopg2.extensions import parse_dsn

from secmon import settings
from secmon.core.files import read_json
from secmon.errors import SecmonError


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    pg_url: str  # the owner's: dbt, the engine
    pg_reader_url: str | None = None  # the read-only role's: the preview (Grafana's datasource reads as it too)

    @property
    def reader_url(self) -> str:
        return self.pg_reader_url or self.pg_url

    @classmethod
    def default(cls) -> Endpoints:
        """Where `secmon up` starts the embedded stack with its default ports."""
        return cls(
            f"{settings.DEFAULT_HOST}:{settings.DEFAULT_KAFKA_PORT}",
            settings.pg_url(settings.DEFAULT_HOST, settings.DEFAULT_PG_PORT),
        )

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
            settings.ENV_PG_READER_URL: self.reader_url,
        }


def redacted(url: str) -> str:
    """`url` without its password, for what is printed or logged."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def state_file(state_dir: Path) -> Path:
    return state_dir / "stack.json"


def read_state(state_dir: Path) -> dict:
    """What `secmon up` recorded: per component its address and whether the runner manages it."""
    return read_json(state_file(state_dir), {})


def _address(state_dir: Path, given: str | None, env_name: str, component: str, key: str = "endpoint") -> str:
    """The option, else the environment, else what `up` recorded for `component`."""
    found = given or os.environ.get(env_name) or read_state(state_dir).get(component, {}).get(key)
    if not found:
        raise SecmonError(f"no stack is recorded in {state_dir}: run `secmon up` first (or set {env_name})")
    return found


def postgres_url(state_dir: Path, pg_url: str | None = None) -> str:
    return _address(state_dir, pg_url, settings.ENV_PG_URL, "postgres")


def bootstrap_servers(state_dir: Path, servers: str | None = None) -> str:
    return _address(state_dir, servers, settings.ENV_BOOTSTRAP, "kafka")


def resolve_endpoints(state_dir: Path, servers: str | None = None, pg_url: str | None = None) -> Endpoints:
    """Where the broker and PostgreSQL are: options and environment first, then what `up` recorded.
    The reader is the recorded one unless a PostgreSQL is given (then that URL reads as well)."""
    owner = postgres_url(state_dir, pg_url)
    reader = (
        None
        if pg_url
        else (os.environ.get(settings.ENV_PG_READER_URL) or read_state(state_dir).get("postgres", {}).get("reader"))
    )
    return Endpoints(bootstrap_servers(state_dir, servers), owner, reader)


def recorded_endpoints(state_dir: Path) -> Endpoints:
    """The stack `up` started in `state_dir`, whatever the environment says: a caller that started
    a stack of its own (a test, a benchmark) talks to that one and no other."""
    state = read_state(state_dir)
    try:
        return Endpoints(state["kafka"]["endpoint"], state["postgres"]["endpoint"], state["postgres"].get("reader"))
    except KeyError:
        raise SecmonError(f"no stack is recorded in {state_dir}: run `secmon up` first") from None
