"""The embedded stack on a shared machine: another OS user (the web application's `www-data`, here
`nobody`) reaches neither PostgreSQL nor the broker nor the state dir's secrets. Run as root, as CI
runs, switching user with `runuser`."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
from click.testing import CliRunner
from psycopg2.extensions import parse_dsn

from secmon import settings, stack
from secmon.cli import cli
from secmon.core.endpoints import read_state
from secmon.stack import firewall, processes
from secmon.stack.broker import EmbeddedBroker
from secmon.stack.postgres import EmbeddedPostgres, database_answers

OTHER_USER = "nobody"


def needs_root(test):
    """Switches to another OS user: needs root (CI runs as root), runuser and the test tools."""
    skip = pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("runuser") is None,
        reason="switching to another OS user needs root and runuser (CI runs as root)",
    )
    return pytest.mark.tools(skip(test))


def as_other_user(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("runuser"), "-u", OTHER_USER, "--", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "5"},
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def server(running_stack) -> EmbeddedPostgres:
    state_dir, _ = running_stack
    return EmbeddedPostgres.from_record(state_dir, read_state(state_dir)["postgres"])


ROLES = (settings.PG_SUPERUSER, settings.PG_USER, settings.PG_READER)
# Over TCP a role's own password is what lets its owner in; every other way is closed to another user:
# no password, a guessed one, the superuser even with its real one, and the socket whatever is given.
ATTEMPTS = (
    [(role, password, "tcp") for role in ROLES for password in (None, "guess")]
    + [(settings.PG_SUPERUSER, "real", "tcp")]
    + [(role, password, "socket") for role in ROLES for password in (None, "guess", "real")]
)


@needs_root
@pytest.mark.parametrize(("role", "password", "where"), ATTEMPTS)
def test_another_user_connects_to_postgresql_as_no_role(server, role, password, where):
    if shutil.which("psql") is None:
        pytest.fail("psql is missing: scripts/ensure-test-tools installs postgresql-client")
    host = server.host if where == "tcp" else str(server.socket_dir)
    conninfo = f"host={host} port={server.port} user={role} dbname={settings.PG_DATABASE}"
    if password:
        secret = server.passwords()[role] if password == "real" else password
        conninfo += f" password={secret}"
    result = as_other_user("psql", "-w", conninfo, "-c", "select 1")
    assert result.returncode != 0, f"{OTHER_USER} connected as {role} over {where}"


@needs_root
def test_another_user_reads_no_file_of_the_state_dir(server):
    for path in (server.passwords_file, server.state_dir / "stack.json", server.log_file):
        result = as_other_user("cat", str(path))
        assert result.returncode != 0 and "Permission denied" in result.stderr, path
    result = as_other_user("ls", str(server.state_dir))
    assert result.returncode != 0


def test_every_file_and_folder_of_the_state_dir_is_its_owners_alone(server):
    """Logs, pid files and the lock included: they name visitors' addresses and the stack's processes."""
    state_dir = server.state_dir
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    found = []
    for root, folders, files in os.walk(state_dir):
        for path in (Path(root, name) for name in folders + files):
            if not path.is_symlink():
                found.append(path)
                assert stat.S_IMODE(path.lstat().st_mode) & 0o077 == 0, path
    expected = [server.passwords_file, server.log_file, state_dir / "stack.json", state_dir / ".lock"]
    expected += [state_dir / "broker.log", state_dir / "broker.pid", state_dir / "bin"]
    assert set(expected) <= set(found)
    for path in (server.socket_dir, server.data_dir):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


@contextmanager
def stack_of_its_own(state_dir: Path, options: stack.StackOptions) -> Iterator[EmbeddedPostgres]:
    """A stack in `state_dir`, its PostgreSQL yielded; purged whatever the test does."""
    try:
        stack.up(state_dir, options)
        yield EmbeddedPostgres.from_record(state_dir, read_state(state_dir)["postgres"])
    finally:
        stack.down(state_dir, purge=True)


@needs_root
def test_up_as_root_widens_no_ancestor_of_the_state_dir(tmp_path, stack_options):
    """A state dir under /root must not make /root 0711: the server's user reaches its own files elsewhere."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    state_dir = home / "state"
    before = {path: stat.S_IMODE(path.stat().st_mode) for path in state_dir.parents}
    with stack_of_its_own(state_dir, stack_options()) as server:
        assert {path: stat.S_IMODE(path.stat().st_mode) for path in state_dir.parents} == before
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
        assert server.answers() and database_answers(server.superuser_url())  # over TCP, and on the socket
        server_dir = server.server_dir
        assert not server_dir.is_relative_to(state_dir)
        assert as_other_user("ls", str(server_dir)).returncode != 0
    assert not server_dir.exists()


@needs_root
def test_up_moves_the_data_of_an_older_stack_out_of_the_state_dir(tmp_path, stack_options):
    """As root, a stack made before the server's files left the state dir keeps its data."""
    import psycopg2

    state_dir, options = tmp_path / "state", stack_options()
    with stack_of_its_own(state_dir, options) as server:
        with psycopg2.connect(server.endpoint) as conn, conn.cursor() as cur:
            cur.execute("create table kept as select 42 as answer")
        conn.close()
        stack.down(state_dir)
        old = server.server_dir  # the older layout: everything in the state dir, no id
        shutil.move(server.data_dir, server.legacy_data_dir)
        (state_dir / "postgres-id").unlink()
        stack.up(state_dir, options)
        with psycopg2.connect(server.endpoint) as conn, conn.cursor() as cur:
            cur.execute("select answer from kept")
            assert cur.fetchone() == (42,)
        conn.close()
        assert not server.legacy_data_dir.exists() and server.server_dir != old and not old.exists()


@needs_root
def test_a_state_dir_removed_without_purge_and_made_again_gets_a_database_of_its_own(tmp_path, stack_options):
    """The old database's passwords went with its state dir: `up` starts afresh and removes that database."""
    state_dir, options = tmp_path / "state", stack_options()
    with stack_of_its_own(state_dir, options) as server:
        old = server.server_dir
        stack.down(state_dir)
        shutil.rmtree(state_dir)
        stack.up(state_dir, options)
        assert server.answers() and server.server_dir != old and not old.exists()


def test_no_trust_anywhere_in_pg_hba(server):
    lines = [
        line.split()
        for line in (server.data_dir / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all(fields[-1] in ("scram-sha-256", "reject") for fields in lines)
    assert "trust" not in (server.data_dir / "pg_hba.conf").read_text().replace("# ", "")


def test_the_owner_cannot_run_programs_on_the_server(endpoints):
    import psycopg2

    with pytest.raises(psycopg2.Error, match="permission denied|must be superuser|pg_execute_server_program"):
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute("copy (select 1) to program 'true'")
    conn.close()


def require_the_broker_guard() -> None:
    if firewall.unavailable_reason() is not None:
        pytest.fail(
            f"the broker guard is unavailable: {firewall.unavailable_reason()} (ensure-test-tools installs iptables)"
        )


@contextmanager
def listening_on_ipv6_loopback(port: int) -> Iterator[None]:
    """A listener on [::1]:`port`: the broker listens on 127.0.0.1 only, but a `localhost` may be ::1."""
    with socket.socket(socket.AF_INET6) as listener:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind(("::1", port))
        listener.listen()
        yield


@needs_root
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_another_user_cannot_connect_to_the_broker(running_stack, endpoints, address):
    state_dir, _ = running_stack
    port = int(endpoints.bootstrap_servers.rpartition(":")[2])
    require_the_broker_guard()
    assert firewall.guarded(state_dir, port)
    probe = f"exec 3<>/dev/tcp/{address}/{port} && printf connected"
    with listening_on_ipv6_loopback(port) if ":" in address else nullcontext():
        assert as_other_user("bash", "-c", probe).stdout != "connected"
        mine = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=10)
        assert mine.stdout == "connected"  # the stack's owner still does


@needs_root
def test_the_broker_guard_is_in_place_before_the_broker_listens(tmp_path, monkeypatch, stack_options):
    require_the_broker_guard()
    state_dir, port = tmp_path / "state", stack_options().kafka_port
    state_dir.mkdir(mode=0o700)
    broker = EmbeddedBroker(state_dir, "127.0.0.1", port)
    seen, real_guard = [], firewall.guard

    def guard(state_dir: Path, port: int) -> bool:
        listening = not processes.port_is_free("127.0.0.1", port)
        seen.append((listening, real_guard(state_dir, port)))
        return seen[-1][1]

    monkeypatch.setattr(firewall, "guard", guard)
    try:
        broker.start()
        assert seen == [(False, True)] and firewall.guarded(state_dir, port)
    finally:
        broker.stop()
    for tool in firewall.TOOLS:
        rules = subprocess.run([tool, "-w", "5", "-S", "OUTPUT"], capture_output=True, text=True, check=True)
        assert f"--dport {port} " not in rules.stdout, tool


def test_status_says_how_each_component_authenticates(stack_env):
    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    import json

    components = {row["component"]: row for row in json.loads(result.output)["components"]}
    assert "SCRAM" in components["postgres"]["auth"] and ":***@" in components["postgres"]["address"]
    assert components["kafka"]["auth"]
    assert parse_dsn(os.environ["SECMON_PG_URL"])["password"] not in result.output


def test_a_state_dir_others_may_write_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_dir.chmod(0o777)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("secmon")), "up", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()
    assert len(message) == 1 and "writable by other users" in message[0] and str(state_dir) in message[0]


def test_plain_dbt_works_after_eval_secmon_env(stack_env):
    secmon = Path(sys.executable).with_name("secmon")
    dbt = Path(sys.executable).with_name("dbt")
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SECMON_PG")}
    result = subprocess.run(
        ["bash", "-c", f'eval "$({secmon} env)" && cd {settings.PROJECT_DIR} && {dbt} debug --profiles-dir . -t local'],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, "SECMON_STATE_DIR": str(stack_env)},
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "All checks passed" in result.stdout


@pytest.mark.parametrize(("schema", "search_path"), [(None, "secmon,public"), ("dashboards", "dashboards,public")])
def test_a_bare_psql_connects_after_eval_secmon_env(stack_env, schema, search_path):
    """libpq's own variables, the password in a pgpass file: no `psql "$SECMON_PG_URL"`, whose command
    line (the password in it) `ps` shows to every user."""
    if shutil.which("psql") is None:
        pytest.fail("psql is missing: scripts/ensure-test-tools installs postgresql-client")
    secmon = Path(sys.executable).with_name("secmon")
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("SECMON_PG", "PG"))}
    environment |= {"SECMON_STATE_DIR": str(stack_env)} | ({"SECMON_PG_SCHEMA": schema} if schema else {})
    queries = (
        'psql -w -XAt -c "select current_user, current_database()" -c "show search_path" '
        f'&& psql -w -XAt -U {settings.PG_READER} -c "select current_user"'
    )
    result = subprocess.run(
        ["bash", "-c", f'eval "$({secmon} env)" && {queries}'],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{settings.PG_USER}|{settings.PG_DATABASE}", search_path, settings.PG_READER]
    exports = subprocess.run([secmon, "env"], capture_output=True, text=True, timeout=60, env=environment).stdout
    assert "PGPASSWORD" not in exports and "export PGPASSFILE=" in exports
    assert stat.S_IMODE((stack_env / "pgpass").stat().st_mode) == 0o600
