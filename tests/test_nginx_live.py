"""A real nginx, watched live: Debian's nginx serves a small site on a loopback port with the
recommended log format (deploy/nginx/secmon-log-format.conf) behind a trusted "load balancer" (the
client sets X-Forwarded-For, as a proxy would), a real HTTP client browses it and attacks it, and
`secmon follow` and `secmon stream` turn the access log into alerts. The log is rotated (rename,
then `nginx -s reopen`) in the middle, and no line is lost."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from base64 import b64encode
from pathlib import Path

import psycopg2
import pytest
from support import nginx_conf, start_web_server, watch_a_live_server

from secmon import settings

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECMON = str(Path(sys.executable).with_name("secmon"))
LOG_FORMAT = settings.PROJECT_DIR / "deploy" / "nginx" / "secmon-log-format.conf"
# nginx's stock format (nginx.org's packages, the official image): combined plus X-Forwarded-For, last.
NGINX_MAIN = """log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';"""

pytestmark = [
    pytest.mark.tools,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is not installed: `make test` installs it"),
]


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, stack_options_factory):
    root = tmp_path_factory.mktemp("nginx")
    for folder in ("logs", "tmp", "site/login", "site/static"):
        (root / folder).mkdir(parents=True)
    for page in ("index.html", "about.html", "products.html", "contact.html", "login/index.html"):
        (root / "site" / page).write_text(f"<html><body>{page}</body></html>")
    (root / "site/static/app.css").write_text("body {}")
    (root / "htpasswd").write_text("alice:{PLAIN}correct-horse\n")
    port = stack_options_factory().kafka_port  # a free port
    logging = f"""include {LOG_FORMAT};
    access_log {root}/logs/access.log secmon;
    {NGINX_MAIN}
    access_log {root}/logs/main.log main;"""
    (root / "nginx.conf").write_text(nginx_conf(root, port, logging))
    server = start_web_server([NGINX, "-p", str(root), "-c", str(root / "nginx.conf")], port)
    yield root, port
    server.terminate()
    server.wait(10)


def test_a_live_nginx_is_watched_from_browsing_to_alerts(nginx, tmp_path, stack_options_factory):
    root, port = nginx
    log = root / "logs" / "access.log"

    def rotate() -> None:  # renamed, then nginx reopens it
        log.rename(root / "logs" / "access.log.1")
        subprocess.run([NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-s", "reopen"], check=True)

    watch_a_live_server(port, log, [], rotate, tmp_path / "state", stack_options_factory())


# What a client can put in the line of nginx's main format (issue 36), each followed by a request of the
# same client that must land: (what, request bytes). The client is 127.0.0.1; `follow` trusts 127.0.0.2.
HAPROXY_SHAPE = (
    '8.8.8.8:1234 [07/Dec/2026:04:00:00.000] fe be/s 0/0/0/1/1 200 1 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"'
)
ATTACKS = [
    ("a 40-digit X-Forwarded-For", {"X-Forwarded-For": "1" * 40 + "g"}, b"/"),
    (
        "a Basic-auth user with a space",
        {"Authorization": "Basic " + b64encode(b"x y:z").decode(), "X-Forwarded-For": "8.8.8.8"},
        b"/.env",
    ),
    (
        "a HAProxy line in the Referer and the User-Agent",
        {"Referer": HAPROXY_SHAPE, "User-Agent": HAPROXY_SHAPE},
        b"/.git/config",
    ),
    ("raw bytes in the request line", {}, b"/\x90\x02\xb1\x02\xff%u9090"),
]
TRUSTED_PROXY = "127.0.0.2"


def send(port: int, target: bytes, headers: dict, source: str = "127.0.0.1") -> None:
    """A request written byte by byte, from `source`: what curl sends, raw bytes included."""
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as connection:
        head = b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items())
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: site\r\nConnection: close\r\n" + head + b"\r\n")
        while connection.recv(65536):
            pass


def follow_status(state_dir: Path) -> str:
    path = state_dir / "follow.json"
    return json.loads(path.read_text()).get("last_reject", "") if path.exists() else ""


def clients_landed(pg_url: str) -> dict[str, int]:
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select ip_address, count(*) from {settings.pg_schema()}.website_logs_source group by 1")
        landed = dict(cur.fetchall())
    conn.close()
    return landed


def test_no_request_picks_the_client_or_stops_follow(nginx, tmp_path, stack_options_factory):
    """Each attack of issue 36 against nginx's stock format: `follow` (trusting only 127.0.0.2 as a proxy)
    keeps publishing the lines after it within seconds, a restart with the attacks among the last lines
    does not hang, no event has a client the attacker named, and the raw bytes land as evidence."""
    from secmon import stack
    from secmon.core.endpoints import recorded_endpoints
    from secmon.engine.ingest import ensure_landing_table

    root, port = nginx
    state_dir = tmp_path / "state"
    stack.up(state_dir, stack_options_factory())
    environment = {**os.environ, "SECMON_STATE_DIR": str(state_dir)}
    follow = [
        SECMON,
        "follow",
        str(root / "logs" / "main.log"),
        "--from-start",
        "--trusted-proxy",
        TRUSTED_PROXY + "/32",
    ]
    processes = {}

    def start(name: str, argv: list[str]) -> None:
        processes[name] = subprocess.Popen(argv, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    try:
        endpoints = recorded_endpoints(state_dir)
        ensure_landing_table(endpoints)
        start("ingest", [SECMON, "ingest"])
        start("follow", follow)
        expected = 0
        for number, (what, headers, target) in enumerate(ATTACKS):
            send(port, target, headers)
            send(port, b"/after-" + str(number).encode(), {})
            if number == 2:  # a restart with the attacks among the lines it recognises the format on
                processes["follow"].terminate()
                assert processes["follow"].wait(20) == 0, processes["follow"].stderr.read()
                start("follow", follow)
            expected += 2
            deadline = time.monotonic() + 15
            while clients_landed(endpoints.pg_url).get("127.0.0.1", 0) < expected:
                assert time.monotonic() < deadline, f"after {what}, follow published nothing more"
                time.sleep(0.2)
        # A zone id from behind the trusted proxy: refused with the reason, the proxy is not the client.
        send(port, b"/zone", {"X-Forwarded-For": "1::1%x;}"}, source=TRUSTED_PROXY)
        send(port, b"/behind-the-proxy", {"X-Forwarded-For": "198.51.100.7"}, source=TRUSTED_PROXY)
        deadline = time.monotonic() + 15
        while "198.51.100.7" not in clients_landed(endpoints.pg_url):
            assert time.monotonic() < deadline, "the request behind the trusted proxy did not land"
            time.sleep(0.2)
        landed = clients_landed(endpoints.pg_url)
        assert set(landed) <= {"127.0.0.1", "198.51.100.250", "198.51.100.7"} | {
            f"198.51.100.{n}" for n in range(1, 10)
        } | {"203.0.113.10", "203.0.113.20", "203.0.113.30"}, landed  # the other test's clients came through 127.0.0.1
        assert "8.8.8.8" not in landed and TRUSTED_PROXY not in landed
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute(
                f"select url, username from {settings.pg_schema()}.website_logs_source where ip_address = '127.0.0.1'"
            )
            rows = cur.fetchall()
        conn.close()
        assert ("/.env", "x y") in rows  # the user keeps its space, the client stays the peer
        assert any(url.startswith("/\\x90\\x02\\xB1") for url, _ in rows), rows  # nginx escapes the bytes: they land
        deadline = time.monotonic() + 5  # follow writes its status every second
        while "X-Forwarded-For: '1::1%x;}' is not an IP address" not in (status := follow_status(state_dir)):
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(20)
        stack.down(state_dir, purge=True)
