"""Helpers several test modules share (test modules do not import each other)."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import psutil
import psycopg2

from secmon import settings, stack

# ```sql file=models/x.sql   (a new file)   ```yaml append=…   (added at the end)
# ```python panel=dashboards/….dashboard.py   (added at the end of the dashboard's `panels` list)
RECIPE_BLOCK = re.compile(
    r"^(?P<indent> *)```\w+ (?P<action>file|append|panel)=(?P<path>\S+)\n(?P<body>.*?)^(?P=indent)```$",
    re.MULTILINE | re.DOTALL,
)


DOCS = settings.PROJECT_DIR / "docs"
HEADING = re.compile(r"(#+) (.+)")
FENCE = re.compile(r" *```")


def recipe(heading: str) -> list[tuple[str, str, str]]:
    """The (action, path, text) steps of the one section of docs/*.md headed `heading` (at any level,
    its subsections included), each block's list indentation removed: the recipe is found wherever it
    lives in docs/, and a heading that is missing or repeated fails."""
    sections = [section for page in sorted(DOCS.glob("*.md")) for section in headed_sections(page.read_text(), heading)]
    assert len(sections) == 1, f"{len(sections)} sections of docs/*.md are headed {heading!r}"
    steps = []
    for match in RECIPE_BLOCK.finditer(sections[0]):
        indent = len(match["indent"])
        text = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        steps.append((match["action"], match["path"], text))
    return steps


def headed_sections(markdown: str, heading: str) -> list[str]:
    """The text under each heading `heading` of a Markdown page, up to the next heading of its level or
    above (lines inside code fences are never headings)."""
    sections, level, lines, fenced = [], 0, [], False
    for line in markdown.splitlines(keepends=True):
        fenced ^= bool(FENCE.match(line))
        found = None if fenced else HEADING.fullmatch(line.rstrip("\n"))
        if level and found and len(found[1]) <= level:
            sections.append("".join(lines))
            level = 0
        if level:
            lines.append(line)
        elif found and found[2] == heading:
            level, lines = len(found[1]), []
    if level:
        sections.append("".join(lines))
    return sections


# Grafana's own JSON schemas (Apache-2.0), copied from grafana/grafana-foundation-sdk.
SCHEMAS = Path(__file__).parent / "grafana-schema"


def schema_validator(file: str, definition: str | None = None) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / file).read_text())
    if definition:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    return jsonschema.Draft7Validator(schema)


def error_lines(validator: jsonschema.Draft7Validator, instance) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}" for error in validator.iter_errors(instance)
    ]


def processes_mentioning(marker: str) -> list[psutil.Process]:
    """Live processes whose command line mentions `marker` (a state dir, a test's own folder)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and marker in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def gone_within(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """The processes of `processes` still alive (and not zombies) after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [proc for proc in processes if _alive(proc)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --- a real web server's traffic (the nginx and Apache end-to-end tests) ---------------------------


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


def wait_for_alert(pg_url: str, alert: tuple[str, str], within: float = 30) -> float:
    started = time.monotonic()
    while alert not in alerts(pg_url):
        assert time.monotonic() - started < within, f"no {alert} within {within} s"
        time.sleep(0.5)
    return time.monotonic() - started


@contextmanager
def built_stack(options: stack.StackOptions) -> Iterator[tuple[Path, object]]:
    """A stack of its own with the project built in it (data tests left out): (state dir, endpoints)."""
    from secmon.dbt_runner import run_dbt
    from secmon.engine.ingest import ensure_landing_table

    with stack.temporary(options) as (state_dir, endpoints):
        ensure_landing_table(endpoints)
        assert run_dbt(["build", "-t", "local", "--quiet", "--exclude", "resource_type:test"], endpoints) == 0
        yield state_dir, endpoints


def child_environment() -> dict[str, str]:
    """The environment less the broker and PostgreSQL it names: a `secmon` child started with
    --state-dir finds the stack recorded there."""
    return {
        name: value for name, value in os.environ.items() if name not in (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL)
    }


def failed_login_line(ip: str, epoch: float, attempt: int) -> str:
    """A combined-log line: a POST to /login answered 401, stamped `epoch`."""
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))
    return f'{ip} - admin [{stamp}] "POST /login?try={attempt} HTTP/1.1" 401 12 "-" "python-requests/2.31"\n'


def close_every_window(endpoints, topic: str = settings.EVENTS_TOPIC) -> None:
    """A heartbeat to each partition an hour after the newest landed event, as `secmon follow` sends
    on a quiet log: the engine's watermark passes the end of every window of the landed events."""
    from secmon.core.events import encode_heartbeat
    from secmon.core.kafka_clients import Producer

    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select max(request_timestamp) from {settings.pg_schema()}.website_logs_source")
        newest = cur.fetchone()[0]
    conn.close()
    producer = Producer(endpoints.bootstrap_servers)
    for partition in producer.partitions(topic):
        producer.send(topic, encode_heartbeat(int(newest.timestamp() * 1000) + 3_600_000), partition=partition)
    assert producer.flush() == 0


ALERT_WITHIN_SECONDS = 30
EXPECTED_LIVE_ALERTS = {
    ("brute_force", "203.0.113.10"),
    ("crowdsec_burst", "203.0.113.10"),  # twelve POSTs answered 401 within seconds: LePresidente/http-generic-401-bf
    ("sqli_probing", "203.0.113.20"),
    ("web_attack", "203.0.113.20"),  # six SQL injections are six malicious URLs for the one score too
    ("sensitive_files", "203.0.113.30"),
}


def _landed(pg_url: str, written: int) -> int:
    """Rows in the landing table, once they reach `written` or 15 s have passed."""
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        deadline = time.monotonic() + 15
        while True:
            cur.execute(f"select count(*) from {settings.pg_schema()}.website_logs_source")
            landed = cur.fetchone()[0]
            conn.rollback()
            if landed >= written or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    conn.close()
    return landed


def watch_a_live_server(
    port: int, log: Path, follow_options: list[str], rotate, state_dir: Path, options, check=None
) -> None:
    """A real web server on `port` writing `log`, watched by `secmon follow` (with `follow_options`) and
    `secmon stream` on a stack of their own, behind a trusted "load balancer" (the client sets
    X-Forwarded-For, as a proxy would): visitors browse, one member logs in, three attackers each raise
    their alert within ALERT_WITHIN_SECONDS; `rotate()` rotates the log in the middle; every line lands
    once, and no other alert is raised. `check(pg_url, landing table)` asserts what is the format's own."""
    import os
    import subprocess
    import sys

    from secmon import stack
    from secmon.core.classify import seeds
    from secmon.core.endpoints import recorded_endpoints
    from secmon.dbt_runner import run_dbt
    from secmon.engine.ingest import ensure_landing_table

    secmon = str(Path(sys.executable).with_name("secmon"))
    stack.up(state_dir, options)
    processes = []
    try:
        endpoints = recorded_endpoints(state_dir)
        ensure_landing_table(endpoints)
        assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
        environment = {**os.environ, "SECMON_STATE_DIR": str(state_dir)}
        for name in (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL):
            environment.pop(name, None)
        follow = [secmon, "follow", str(log), "--from-start", "--trusted-proxy", "127.0.0.1/32", *follow_options]
        for argv in (follow, [secmon, "stream", "--quiet"]):
            processes.append(
                subprocess.Popen(argv, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            )

        # Normal browsing by a few visitors, and one member who logs in.
        for visitor in range(1, 6):
            for page in ("/", "/about.html", "/products.html", "/static/app.css", "/contact.html", "/missing.html"):
                request(port, page, f"198.51.100.{visitor}")
        assert request(port, "/login/", "198.51.100.9", user="alice", password="correct-horse") == 200

        # Login brute force on the basic-auth location: the server logs the user name that was tried.
        for attempt in range(12):
            assert request(port, "/login/", "203.0.113.10", "POST", user="admin", password=f"guess{attempt}") == 401
        seconds = {"brute_force": wait_for_alert(endpoints.pg_url, ("brute_force", "203.0.113.10"))}
        seconds["crowdsec_burst"] = wait_for_alert(endpoints.pg_url, ("crowdsec_burst", "203.0.113.10"))

        rotate()

        for number, pattern in enumerate(seeds.load("sqli_patterns")[:6]):
            request(port, f"/products.html?id={number}{pattern}", "203.0.113.20", agent="python-requests/2.31.0")
        seconds["sqli_probing"] = wait_for_alert(endpoints.pg_url, ("sqli_probing", "203.0.113.20"))
        for suffix in [p for p in seeds.load("sensitive_files") if p.startswith(".")][:5]:
            request(port, "/" + suffix, "203.0.113.30", agent="curl/8.5.0")
        seconds["sensitive_files"] = wait_for_alert(endpoints.pg_url, ("sensitive_files", "203.0.113.30"))

        time.sleep(3)  # the normal visitors' windows have had every chance to alert
        written = sum(len(path.read_text().splitlines()) for path in log.parent.glob(log.name + "*"))
        assert _landed(endpoints.pg_url, written) == written, "a line was lost or repeated across the rotation"
        raised = alerts(endpoints.pg_url)
        assert raised == EXPECTED_LIVE_ALERTS, sorted(raised ^ EXPECTED_LIVE_ALERTS)
        assert max(seconds.values()) <= ALERT_WITHIN_SECONDS, seconds
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            # Every client came through the trusted proxy: none is the proxy itself.
            cur.execute(
                f"select count(*) from {settings.pg_schema()}.website_logs_source where ip_address = '127.0.0.1'"
            )
            assert cur.fetchone()[0] == 0
            cur.execute(
                f"select username from {settings.pg_schema()}.website_logs_source "
                "where ip_address = '203.0.113.10' group by username"
            )
            assert cur.fetchall() == [("admin",)]
        conn.close()
        if check is not None:
            check(endpoints.pg_url, f"{settings.pg_schema()}.website_logs_source")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)
        stack.down(state_dir, purge=True)


def nginx_conf(root: Path, port: int, logging: str) -> str:
    """Debian's nginx serving `root`/site on 127.0.0.1:`port`, logging as the `logging` directives say
    (`log_format` and `access_log` lines); /login asks for a password (`root`/htpasswd)."""
    import getpass
    import os

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
    {logging}
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


def start_web_server(argv: list[str], port: int):
    """A web server (nginx, apache2) started in the foreground, once it answers on `port`."""
    import subprocess

    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            request(port, "/", "198.51.100.250")  # through the "proxy", as every request here
            return server
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
            time.sleep(0.1)


def run_pytest(*args: str, env: dict[str, str]):
    """This suite's pytest in a process of its own (another environment, another project copy).

    With a temporary folder of its own (--basetemp): left to itself, the inner pytest makes
    /tmp/pytest-of-<user> 0700 again, and the session stack's PostgreSQL, which runs as another
    user, then loses its data directory (a checkpoint then PANICs)."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="secmon-inner-pytest-") as basetemp:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}/tmp", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=Path(__file__).parent.parent,
        )


def event_fields(event) -> tuple:
    """What a log-format test compares of an event: client, method, URL, status, time, user, agent."""
    return (
        event.ip_address,
        event.http_method,
        event.url,
        event.status_code,
        event.response_time,
        event.username,
        event.user_agent,
    )


class AnsweringConnection:
    """A psycopg2 connection and cursor in one that answers every fetchone() with `row` (and fetchall()
    with its items as rows) and records what was executed: for checks of what secmon asks RisingWave,
    which cannot run here."""

    def __init__(self, row: tuple | None):
        self.row, self.executed = row, []

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, query, params=None):
        self.executed.append((query, params))

    def fetchone(self):
        return self.row

    def fetchall(self):
        return [] if self.row is None else list(self.row)
