"""A real nginx, watched live: Debian's nginx serves a small site on a loopback port with the
recommended log format (deploy/nginx/secmon-log-format.conf) behind a trusted "load balancer" (the
client sets X-Forwarded-For, as a proxy would), a real HTTP client browses it and attacks it, and
`secmon follow` and `secmon stream` turn the access log into alerts. The log is rotated (rename,
then `nginx -s reopen`) in the middle, and no line is lost."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

import psycopg2
import pytest

from secmon import settings, stack
from secmon.core import pattern_seeds
from secmon.core.endpoints import recorded_endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import ensure_landing_table

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECMON = str(Path(sys.executable).with_name("secmon"))
LOG_FORMAT = settings.PROJECT_DIR / "deploy" / "nginx" / "secmon-log-format.conf"
ALERT_WITHIN_SECONDS = 30

pytestmark = [
    pytest.mark.tools,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is not installed: `make test` installs it"),
]


def nginx_conf(root: Path, port: int) -> str:
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""  # as root, workers would run as nobody
    temp = "\n".join(
        f"    {kind}_temp_path {root}/tmp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    include {LOG_FORMAT};
    access_log {root}/logs/access.log secmon;
{temp}
    server {{
        listen 127.0.0.1:{port};
        root {root}/site;
        location / {{ try_files $uri $uri/ =404; }}
        location /login {{
            auth_basic "members";
            auth_basic_user_file {root}/htpasswd;
        }}
    }}
}}
"""


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
    (root / "nginx.conf").write_text(nginx_conf(root, port))
    server = subprocess.Popen(
        [NGINX, "-p", str(root), "-c", str(root / "nginx.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
            time.sleep(0.1)
    yield root, port
    server.terminate()
    server.wait(10)


def request(
    port: int,
    path: str,
    client: str,
    method: str = "GET",
    user: str | None = None,
    password: str = "",
    agent: str = "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
) -> int:
    headers = {"X-Forwarded-For": client, "User-Agent": agent}
    if user is not None:
        headers["Authorization"] = "Basic " + b64encode(f"{user}:{password}".encode()).decode()
    data = b"" if method == "POST" else None
    try:
        with urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method),
            timeout=5,
        ) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def alerts(pg_url: str) -> set[tuple[str, str]]:
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select distinct detection, entity from {settings.pg_schema()}.{settings.ALERTS_TABLE}")
        rows = set(cur.fetchall())
    conn.close()
    return rows


def wait_for_alert(pg_url: str, alert: tuple[str, str]) -> float:
    started = time.monotonic()
    while alert not in alerts(pg_url):
        assert time.monotonic() - started < ALERT_WITHIN_SECONDS, f"no {alert} within {ALERT_WITHIN_SECONDS} s"
        time.sleep(0.5)
    return time.monotonic() - started


def test_a_live_nginx_is_watched_from_browsing_to_alerts(nginx, tmp_path, stack_options_factory):
    root, port = nginx
    state_dir = tmp_path / "state"
    stack.up(state_dir, stack_options_factory())
    processes = []
    try:
        endpoints = recorded_endpoints(state_dir)
        ensure_landing_table(endpoints)
        assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
        environment = {**os.environ, "SECMON_STATE_DIR": str(state_dir)}
        for name in (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL):
            environment.pop(name, None)
        log = root / "logs" / "access.log"
        processes.append(
            subprocess.Popen(
                [SECMON, "follow", str(log), "--from-start", "--trusted-proxy", "127.0.0.1/32"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        processes.append(
            subprocess.Popen(
                [SECMON, "stream", "--quiet"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )

        # Normal browsing by a few visitors, and one member who logs in.
        for visitor in range(1, 6):
            for page in ("/", "/about.html", "/products.html", "/static/app.css", "/contact.html", "/missing.html"):
                request(port, page, f"198.51.100.{visitor}")
        assert request(port, "/login/", "198.51.100.9", user="alice", password="correct-horse") == 200

        # Login brute force on the basic-auth location: nginx logs the user name that was tried.
        for attempt in range(12):
            assert request(port, "/login/", "203.0.113.10", "POST", user="admin", password=f"guess{attempt}") == 401
        seconds = {"brute_force": wait_for_alert(endpoints.pg_url, ("brute_force", "203.0.113.10"))}

        # The log rotates: renamed, then nginx reopens it.
        log.rename(root / "logs" / "access.log.1")
        subprocess.run([NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-s", "reopen"], check=True)

        for number, pattern in enumerate(pattern_seeds.load("sqli_patterns")[:6]):
            request(port, f"/products.html?id={number}{pattern}", "203.0.113.20", agent="python-requests/2.31.0")
        seconds["sqli_probing"] = wait_for_alert(endpoints.pg_url, ("sqli_probing", "203.0.113.20"))
        for suffix in [p for p in pattern_seeds.load("sensitive_files") if p.startswith(".")][:5]:
            request(port, "/" + suffix, "203.0.113.30", agent="curl/8.5.0")
        seconds["sensitive_files"] = wait_for_alert(endpoints.pg_url, ("sensitive_files", "203.0.113.30"))

        time.sleep(3)  # the normal visitors' windows have had every chance to alert
        written = sum(len(path.read_text().splitlines()) for path in (root / "logs").glob("access.log*"))
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            deadline = time.monotonic() + 15
            while True:
                cur.execute(f"select count(*) from {settings.pg_schema()}.website_logs_source")
                landed = cur.fetchone()[0]
                conn.rollback()
                if landed >= written or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        conn.close()
        assert landed == written, "a line was lost or repeated across the rotation"
        assert alerts(endpoints.pg_url) == {
            ("brute_force", "203.0.113.10"),
            ("sqli_probing", "203.0.113.20"),
            ("sensitive_files", "203.0.113.30"),
        }
        assert max(seconds.values()) <= ALERT_WITHIN_SECONDS, seconds
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)
        stack.down(state_dir, purge=True)
