"""Shared fixtures: one embedded stack per test session, on free ports, in a temporary state dir."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from secmon import stack


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


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory) -> tuple[Path, stack.Endpoints]:
    """An embedded broker + PostgreSQL shared by the whole session; stopped and purged at the end."""
    state_dir = tmp_path_factory.mktemp("stack") / "state"
    stack.up(state_dir, _stack_options())
    yield state_dir, stack.endpoints(state_dir)
    stack.down(state_dir, purge=True)


@pytest.fixture(scope="session")
def endpoints(running_stack) -> stack.Endpoints:
    return running_stack[1]


@pytest.fixture
def stack_env(running_stack, monkeypatch) -> Path:
    """Points every command at the session stack through the environment, as `eval "$(secmon env)"` does."""
    state_dir, endpoints = running_stack
    monkeypatch.setenv("SECMON_STATE_DIR", str(state_dir))
    for name, value in endpoints.environment().items():
        monkeypatch.setenv(name, value)
    return state_dir
