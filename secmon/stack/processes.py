"""Small helpers for the daemons the runner owns: ports, pid files, logs, waiting, stopping."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import psutil

from secmon.errors import SecmonError


class Embedded(Protocol):
    """A server the stack starts and stops itself (the broker, PostgreSQL)."""

    host: str
    port: int

    @property
    def address(self) -> str: ...  # host:port
    @property
    def endpoint(self) -> str: ...  # what clients are given: a bootstrap address, a URL
    @property
    def auth(self) -> str: ...  # how clients authenticate, in a few words (`secmon status`, `doctor`)
    def record(self) -> dict: ...  # what stack.json keeps of it: `endpoint`, `managed` and how to find it again
    def process(self) -> psutil.Process | None: ...
    def answers(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def purge(self) -> None: ...  # delete what it keeps outside the state dir


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(host: str, port: int, option: str) -> None:
    if not port_is_free(host, port):
        raise SecmonError(f"port {port} on {host} is already in use; choose another with {option}")


def wait_until(ready: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(interval)
    raise SecmonError(f"{what} did not become ready within {timeout:.0f} s")


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """A file of the state dir (a log, the lock) opened for its owner alone: created 0600, and made
    0600 again if an older version left it readable by others (logs name visitors' addresses)."""
    fd = os.open(path, flags | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def live_process(pid: int | None, marker: str) -> psutil.Process | None:
    """The process `pid` if it is alive and its command line mentions `marker` (guards pid reuse)."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if marker in " ".join(proc.cmdline()):
            return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return None


def terminate(proc: psutil.Process, timeout: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL: returns once the process is gone (or a zombie: dead, waiting
    for a parent that is not this process to reap it)."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout)
    except psutil.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            if proc.status() != psutil.STATUS_ZOMBIE:
                raise SecmonError(f"process {proc.pid} ({proc.name()}) is still there after SIGKILL") from None
    except psutil.NoSuchProcess:
        pass


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
