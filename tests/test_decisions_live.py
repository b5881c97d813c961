"""Issue 38's checklist, read in the kernel: Debian's crowdsec-firewall-bouncer (nftables mode) pulls
`secmon decisions serve`, which reads alerts written straight into a `security_alerts` table of the
session stack, and `nft list set` shows what the firewall enforces."""

from __future__ import annotations

import itertools
import json
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from click.testing import CliRunner
from decisions_tools import (
    NGINX,
    bouncer_log,
    free_port,
    kernel_set,
    needs_bouncer,
    needs_nginx,
    nftables_usable,
    request,
    running_bouncer,
    wait_for,
)
from psycopg2 import sql

from secmon import settings
from secmon.cli import cli
from secmon.decisions.exports import ExportFailed, export
from secmon.decisions.keys import add_bouncer
from secmon.decisions.server import listening_socket, make_server
from secmon.errors import SecmonError
from secmon.stack import firewall

needs_firewall = [
    pytest.mark.tools,
    needs_bouncer,
    pytest.mark.skipif(not nftables_usable(), reason="this sandbox may not make nftables tables"),
]


def firewall_test(test):
    for mark in needs_firewall:
        test = mark(test)
    return test


ATTACKER, SECOND, THIRD, ZONE_ID = "203.0.113.50", "203.0.113.51", "203.0.113.52", "1::1%x;}"
HIGH_S, CRITICAL_S = 4 * 3600, 24 * 3600
counter = itertools.count()


class Alerts:
    """A security_alerts table of its own in the session stack, written as the engine would."""

    def __init__(self, owner_url: str, schema: str) -> None:
        self.owner_url, self.schema = owner_url, schema

    def execute(self, statement: sql.Composable, parameters: tuple = ()) -> None:
        with psycopg2.connect(self.owner_url) as conn, conn.cursor() as cur:
            cur.execute(statement, parameters)
        conn.close()

    def add(self, entity: str, severity: str = "high", detection: str = "web_attack") -> None:
        end = datetime.now(UTC)
        self.execute(
            sql.SQL(
                "insert into {}.security_alerts (alert_id, detection, severity, entity_type, entity, window_start,"
                " window_end) values (%s, %s, %s, 'ip', %s, %s, %s)"
            ).format(sql.Identifier(self.schema)),
            (f"test-{next(counter)}", detection, severity, entity, end - timedelta(minutes=1), end),
        )


@pytest.fixture
def alerts(endpoints, monkeypatch) -> Alerts:
    schema = f"decisions_{os.getpid()}_{next(counter)}"
    table = Alerts(endpoints.pg_url, schema)
    table.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    table.execute(
        sql.SQL(
            "create table {}.security_alerts (alert_id text primary key, detection text, severity text,"
            " entity_type text, entity text, window_start timestamptz, window_end timestamptz)"
        ).format(sql.Identifier(schema))
    )
    monkeypatch.setenv(settings.ENV_PG_SCHEMA, schema)  # `secmon decisions delete/export` read it
    yield table
    table.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


class Serving:
    """`serve` on 127.0.0.1 and ::1 (one port), reading as the read-only role; restartable."""

    def __init__(self, tmp_path: Path, endpoints, schema: str, certificate: tuple[Path, Path] | None = None) -> None:
        self.state_dir, self.allowlist = tmp_path / "state", tmp_path / "allowlist.txt"
        self.reader_url, self.schema, self.port = endpoints.reader_url, schema, free_port()
        self.certificate, self.server = certificate, None

    def start(self):
        self.server = make_server(
            [f"127.0.0.1:{self.port}", f"[::1]:{self.port}"],
            self.reader_url,
            self.state_dir,
            self.schema,
            allowlist_file=self.allowlist,
            certificate=self.certificate and self.certificate[0],
            private_key=self.certificate and self.certificate[1],
        ).start()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def url(self, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.certificate else 'http'}://{host}:{self.port}/"


@pytest.fixture
def serving(tmp_path, endpoints, alerts):
    serving = Serving(tmp_path, endpoints, alerts.schema)
    serving.start()
    yield serving
    serving.stop()


def decisions(*arguments: str, state_dir: Path) -> str:
    result = CliRunner().invoke(cli, ["decisions", *arguments, "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    return result.output


@firewall_test
def test_the_kernel_set_follows_bans_extensions_deletes_and_the_allowlist(serving, alerts, tmp_path, caplog):
    table = f"secmon_a_{os.getpid()}"
    key = add_bouncer(serving.state_dir, "firewall")
    for entity in (ATTACKER, ZONE_ID, SECOND):
        alerts.add(entity)
    folder = tmp_path / "bouncer"
    with running_bouncer(folder, serving.url(), key, table):
        found = wait_for(
            lambda: {ATTACKER, SECOND} <= set(kernel_set(table)) and kernel_set(table),
            30,
            f"bans: {bouncer_log(folder)}",
        )
        assert set(found) == {ATTACKER, SECOND} and HIGH_S - 60 < found[ATTACKER] <= HIGH_S, found
        assert [r.getMessage() for r in caplog.records if "refused" in r.getMessage()] == [
            "alert entity '1::1%x;}' refused: an IPv6 zone id is not an address a firewall can ban"
        ]

        started = time.monotonic()
        alerts.add(ATTACKER, "critical")  # a repeat extends the ban to 24 hours: the element's timeout too
        wait_for(lambda: kernel_set(table).get(ATTACKER, 0) > HIGH_S, 5, "the extension in the kernel")
        extended, started = time.monotonic() - started, time.monotonic()

        # Within one pull: a pull a second, and some slack for a loaded machine.
        decisions("delete", "--ip", ATTACKER, "--reason", "a partner", state_dir=serving.state_dir)
        wait_for(lambda: ATTACKER not in kernel_set(table), 3, "the delete within one pull")
        deleted, started = time.monotonic() - started, time.monotonic()

        serving.allowlist.write_text(f"{SECOND}/32  # our monitoring\n")
        wait_for(lambda: SECOND not in kernel_set(table), 3, "the newly allowlisted address removed")
        print(f"in the kernel after: extension {extended:.1f} s, delete {deleted:.1f} s, "
              f"allowlist {time.monotonic() - started:.1f} s")  # fmt: skip
        assert kernel_set(table) == {}, bouncer_log(folder)


@firewall_test
def test_a_restart_neither_re_adds_nor_forgets_and_a_head_loses_nothing(serving, alerts, tmp_path):
    table = f"secmon_r_{os.getpid()}"
    key = add_bouncer(serving.state_dir, "firewall")
    alerts.add(ATTACKER)
    folder = tmp_path / "bouncer"
    with running_bouncer(folder, serving.url(), key, table):
        wait_for(lambda: ATTACKER in kernel_set(table), 30, f"the ban: {bouncer_log(folder)}")
        serving.stop()
        alerts.add(SECOND)  # while the server is down: a new ban, and a lifted one
        decisions("delete", "--ip", ATTACKER, state_dir=serving.state_dir)
        server = serving.start()
        wait_for(lambda: set(kernel_set(table)) == {SECOND}, 10, f"after the restart: {bouncer_log(folder)}")
        assert all(ATTACKER not in new for *_, new, _ in server.pulls)  # never sent again as new

        head_key = add_bouncer(serving.state_dir, "probe")  # HEAD between two pulls of one bouncer
        request(serving.url() + "v1/decisions/stream?startup=true", head_key)
        alerts.add(THIRD)
        assert request(serving.url() + "v1/decisions/stream", head_key, "HEAD") is None
        assert THIRD in [d["value"] for d in request(serving.url() + "v1/decisions/stream", head_key)["new"]]
        wait_for(lambda: THIRD in kernel_set(table), 5, "the ban after a HEAD")


@firewall_test
def test_two_bouncers_on_one_key_each_get_every_delta(serving, alerts, tmp_path):
    key = add_bouncer(serving.state_dir, "firewalls")
    tables = [f"secmon_4_{os.getpid()}", f"secmon_6_{os.getpid()}"]  # one host on IPv4, one on IPv6
    with (
        running_bouncer(tmp_path / "v4", serving.url("127.0.0.1"), key, tables[0]),
        running_bouncer(tmp_path / "v6", serving.url("[::1]"), key, tables[1]),
    ):
        alerts.add(ATTACKER)
        for table in tables:
            wait_for(lambda table=table: ATTACKER in kernel_set(table), 30, f"the ban in {table}")
        alerts.add(SECOND)
        decisions("delete", "--ip", ATTACKER, state_dir=serving.state_dir)
        for table in tables:
            wait_for(lambda table=table: set(kernel_set(table)) == {SECOND}, 5, f"every delta in {table}")
        clients = {client for name, client, *_ in serving.server.pulls if name == "firewalls"}
        assert clients == {"127.0.0.1", "::1"}
        listed = decisions("bouncers", "list", state_dir=serving.state_dir)
        assert "127.0.0.1 at" in listed and "::1 at" in listed


def test_a_revoked_key_is_refused_from_its_next_request(serving):
    key = add_bouncer(serving.state_dir, "old")
    assert request(serving.url() + "v1/decisions/stream?startup=true", key) == {"new": [], "deleted": []}
    decisions("bouncers", "revoke", "old", state_dir=serving.state_dir)
    with pytest.raises(urllib.error.HTTPError, match="403"):
        request(serving.url() + "v1/decisions/stream", key)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    crt, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", "1",
         "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return crt, key


def hold(port: int, count: int, first_source: int, half_open: bytes) -> list[socket.socket]:
    """`count` connections from as many addresses (127.0.N.M): half idle, half sending `half_open`."""
    held = []
    for n in range(count):
        sock = socket.create_connection(
            ("127.0.0.1", port), timeout=5, source_address=(f"127.0.{first_source + n // 250}.{2 + n % 250}", 0)
        )
        if n % 2:
            sock.sendall(half_open)
        held.append(sock)
    return held


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_200_idle_and_half_open_connections_leave_a_bouncer_its_pull_within_2_s(
    tmp_path, endpoints, alerts, certificate, tls
):
    serving = Serving(tmp_path, endpoints, alerts.schema, certificate if tls else None)
    server, threads = serving.start(), threading.active_count()
    key = add_bouncer(serving.state_dir, "firewall")
    alerts.add(ATTACKER)
    half_open = b"\x16\x03\x01\x02\x00\x01" if tls else b"GET /v1/decisions/stream HTTP/1.1\r\nX-Api-Key: x"
    held = hold(serving.port, 200, 1, half_open)
    try:
        deadline = time.monotonic() + 5  # a loaded machine accepts the last of them a moment later
        while sum(server.open.values()) < 200:
            assert time.monotonic() < deadline, f"the server holds {sum(server.open.values())} of 200 connections"
            time.sleep(0.05)
        started = time.monotonic()
        answer = request(serving.url() + "v1/decisions/stream?startup=true", key)
        took = time.monotonic() - started
        print(f"{'TLS' if tls else 'plain'}: a pull beside 200 held connections took {took * 1000:.0f} ms")
        assert [d["value"] for d in answer["new"]] == [ATTACKER] and took < 2
        assert threading.active_count() <= threads + 4  # no thread for each connection
    finally:
        for sock in held:
            sock.close()
        serving.stop()


def closed_by_server(held: list[socket.socket], settle: float = 1.0) -> int:
    """How many of `held` the server closed, counted until none more closes for `settle` seconds."""
    closed: set[socket.socket] = set()
    while readable := select.select([sock for sock in held if sock not in closed], [], [], settle)[0]:
        for sock in readable:
            try:
                sock.recv(1)
            except ConnectionResetError:
                pass
            closed.add(sock)  # readable with nothing sent to it: closed (EOF or reset)
    return len(closed)


def test_one_client_s_connections_are_capped_and_the_others_still_pull(serving, alerts):
    key = add_bouncer(serving.state_dir, "firewall")
    held = [socket.create_connection(("127.0.0.1", serving.port), source_address=("127.0.9.9", 0)) for _ in range(40)]
    try:
        assert closed_by_server(held) == 40 - serving.server.per_client
        assert request(serving.url() + "v1/decisions/stream?startup=true", key) == {"new": [], "deleted": []}
    finally:
        for sock in held:
            sock.close()


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return sock.recv(65536)


def test_http_0_9_a_bad_query_and_a_database_failure_are_answered_at_once_and_say_nothing_inside(
    serving, alerts, caplog
):
    key = add_bouncer(serving.state_dir, "firewall")
    assert raw(serving.port, b"GET /\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    for query, reason in (("ip=", "empty"), ("ip=1::1%25x", "zone id"), ("origins=", "empty"), ("limit=5", "not a")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            request(serving.url() + f"v1/decisions?{query}", key)
        assert refused.value.code == 400 and reason in json.loads(refused.value.read())["message"]
    assert request(serving.url() + "v1/decisions?ip=::ffff:203.0.113.50", key) is None
    alerts.add(ATTACKER)
    assert [d["value"] for d in request(serving.url() + "v1/decisions?ip=::ffff:203.0.113.50", key)] == [ATTACKER]
    serving.server.service.schema = "no_such_schema"
    with pytest.raises(urllib.error.HTTPError) as failed:
        request(serving.url() + "v1/decisions/stream", key)
    body = failed.value.read().decode()
    assert failed.value.code == 500 and "schema" not in body and settings.PG_READER not in body, body
    assert any("no_such_schema" in record.getMessage() for record in caplog.records)


def test_listen_takes_ipv6_in_brackets_and_says_what_is_wrong_otherwise(tmp_path):
    with pytest.raises(SecmonError, match="brackets"):
        listening_socket("::1:28080")
    sock = listening_socket(f"[::1]:{free_port()}")
    assert sock.family == socket.AF_INET6 and sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    sock.close()


def nginx_check(folder: Path) -> str:
    """An `--check` for a deny include: nginx -t on a small configuration that includes the new file ({})."""
    config = f"pid {folder}/check.pid; error_log stderr; events {{ }} http {{ server {{ include %s; }} }}"
    test = f"{NGINX} -t -q -p {folder} -c {folder}/check.conf"
    return f'sh -c \'printf "{config}" "$1" > {folder}/check.conf && {test}\' sh {{}}'


@pytest.mark.tools
@needs_nginx
def test_the_exports_refuse_a_zone_id_entity_and_nginx_and_nft_accept_them(tmp_path, endpoints, alerts):
    for entity in (ZONE_ID, ATTACKER, "2001:DB8::50"):
        alerts.add(entity)
    deny, sets = tmp_path / "deny.conf", tmp_path / "bans.nft"
    exported = subprocess.run(
        [str(Path(sys.executable).with_name("secmon")), "decisions", "export", "--state-dir", str(tmp_path / "state"),
         "--pg-url", endpoints.reader_url, "--bootstrap-server", endpoints.bootstrap_servers,
         "--nginx", str(deny), "--nftables", str(sets)],
        capture_output=True, text=True, env={**os.environ, settings.ENV_PG_SCHEMA: alerts.schema},
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.splitlines() == [
        "alert entity '1::1%x;}' refused: an IPv6 zone id is not an address a firewall can ban"
    ]
    assert [line.split()[1] for line in deny.read_text().splitlines() if line.startswith("deny")] == [
        f"{ATTACKER};",
        "2001:db8::50;",
    ]
    assert subprocess.run(nginx_check(tmp_path).replace("{}", str(deny)), shell=True).returncode == 0
    checked = subprocess.run(["nft", "-c", "-f", str(sets)], capture_output=True, text=True)
    assert checked.returncode == 0 or "Operation not permitted" in checked.stderr, checked.stderr
    assert oct(deny.stat().st_mode & 0o777) == "0o644" and not list(tmp_path.glob(".deny.conf.*"))


@pytest.mark.tools
@needs_nginx
def test_a_broken_include_is_stopped_by_the_check_nginx_keeps_serving_and_a_failed_reload_is_retried(tmp_path):
    from support import request as through_proxy
    from support import start_web_server

    port, state_dir, deny = free_port(), tmp_path / "state", tmp_path / "deny.conf"
    good = "deny 203.0.113.50;\n"
    deny.write_text(good)
    (tmp_path / "logs").mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; daemon off; events {{}}\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:{port}; include {deny}; return 200 ok; }} }}\n"
    )
    nginx = start_web_server([NGINX, "-p", str(tmp_path), "-c", str(config)], port)
    reload = f"{NGINX} -p {tmp_path} -c {config} -s reload"
    try:
        with pytest.raises(ExportFailed, match="check"):
            export(state_dir, {deny: "deny 1::1%x;};\n"}, nginx_check(tmp_path), reload)
        assert deny.read_text() == good and not list(tmp_path.glob(".deny.conf.*"))
        assert through_proxy(port, "/", "198.51.100.250") == 200

        newer = good + "deny 203.0.113.51;\n"
        with pytest.raises(ExportFailed, match="reload"):
            export(state_dir, {deny: newer}, nginx_check(tmp_path), "false")
        assert deny.read_text() == newer  # checked, so in place; its reload failed
        retried = export(state_dir, {deny: newer}, nginx_check(tmp_path), reload)
        assert retried.changed == [] and retried.reloaded  # the next run reloads what did not
        assert export(state_dir, {deny: newer}, nginx_check(tmp_path), reload).reloaded is False
        assert through_proxy(port, "/", "198.51.100.250") == 200
    finally:
        nginx.terminate()
        nginx.wait(10)


def test_an_export_replaces_a_symlink_and_never_writes_through_it(tmp_path):
    elsewhere, target = tmp_path / "elsewhere", tmp_path / "bans.nft"
    elsewhere.write_text("not ours\n")
    elsewhere.chmod(0o600)
    target.symlink_to(elsewhere)
    export(tmp_path / "state", {target: "flush ruleset\n"})
    assert not target.is_symlink() and target.read_text() == "flush ruleset\n"
    assert elsewhere.read_text() == "not ours\n" and oct(elsewhere.stat().st_mode & 0o777) == "0o600"


class ServeCommand:
    """`secmon decisions serve` run from the command line on the session stack (its recorded state, not
    the environment), under an optional descriptor limit; `.output` once stopped."""

    def __init__(self, stack_dir: Path, tmp_path: Path, schema: str, descriptors: int | None = None) -> None:
        self.state_dir, self.port = tmp_path / "state", free_port()
        self.state_dir.mkdir()
        shutil.copy(stack_dir / "stack.json", self.state_dir)
        self.key = add_bouncer(self.state_dir, "firewall")
        passed = (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL, settings.ENV_PG_READER_URL)
        env = {name: value for name, value in os.environ.items() if name not in passed}

        def limit() -> None:
            if descriptors:
                resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, descriptors))

        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("secmon")), "decisions", "serve", "--state-dir", str(self.state_dir),
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env, settings.ENV_PG_SCHEMA: schema},
            preexec_fn=limit,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}/v1/decisions/stream"

    def pull(self) -> dict | None:
        try:
            return request(self.url + "?startup=true", self.key)
        except OSError:
            return None

    def stop(self) -> tuple[str, str]:
        self.process.terminate()
        return self.process.communicate(timeout=10)


def test_serve_from_the_command_line_reads_as_the_read_only_role_and_says_when_the_broker_is_unguarded(
    running_stack, alerts, tmp_path
):
    stack_dir, endpoints = running_stack
    alerts.add(ATTACKER)
    serve = ServeCommand(stack_dir, tmp_path, alerts.schema)
    try:
        assert [d["value"] for d in wait_for(serve.pull, 20, "serve's first answer")["new"]] == [ATTACKER]
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from pg_stat_activity where usename = %s", (settings.PG_READER,))
            assert cur.fetchone()[0] >= 1
        conn.close()
    finally:
        out, err = serve.stop()
    assert out.splitlines()[0] == f"decisions for bouncers at {serve.url} (Ctrl-C stops)"
    assert serve.process.returncode == 0 and "Traceback" not in err, err  # SIGTERM stops it cleanly
    warnings = [line for line in err.splitlines() if "broker guard" in line]
    reason = firewall.unavailable_reason()
    assert warnings == ([f"warning: the broker guard cannot be set here ({reason}): any local user can publish "
                         "events to the embedded broker, and so forge bans"] if reason else []), err  # fmt: skip


def test_under_a_64_descriptor_limit_58_idle_connections_leave_a_bouncer_its_pull(running_stack, alerts, tmp_path):
    alerts.add(ATTACKER)
    serve = ServeCommand(running_stack[0], tmp_path, alerts.schema, descriptors=64)
    held, answer, took = [], None, None
    try:
        wait_for(serve.pull, 20, "serve's first answer")
        held = hold(serve.port, 58, 3, b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        answer = serve.pull()
        took = time.monotonic() - started
        print(f"a pull beside 58 idle connections under 64 descriptors took {took * 1000:.0f} ms")
    finally:
        for sock in held:
            sock.close()
        out, err = serve.stop()
    assert answer is not None and took < 2, err
    assert "Traceback" not in err, err


def test_list_shows_the_bans_in_force_as_bouncers_get_them_less_the_lifted_ones(endpoints, alerts, tmp_path):
    for entity in (ATTACKER, "::ffff:203.0.113.51", ZONE_ID):
        alerts.add(entity)
    where = ["--pg-url", endpoints.reader_url, "--bootstrap-server", endpoints.bootstrap_servers]
    listed = [json.loads(line) for line in decisions("list", "--json", *where, state_dir=tmp_path).splitlines()]
    assert sorted(d["value"] for d in listed) == [ATTACKER, SECOND]
    assert all(d["duration"] == "4h0m0s" or d["duration"].startswith("3h59m") for d in listed), listed
    decisions("delete", "--ip", SECOND, state_dir=tmp_path)
    assert decisions("list", *where, state_dir=tmp_path).split()[0] == ATTACKER
