"""A real Apache, watched live: Debian's apache2 serves a small site on a loopback port and logs with
a custom LogFormat (virtual host first, request time in microseconds, X-Forwarded-For last).
`secmon follow` is started with that very LogFormat line, as a user pastes it from their config; the
same browsing and attacks as the nginx test must land line for line and raise their alerts."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2
import pytest
from support import request, start_web_server, watch_a_live_server

APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
# The line a user copies from apache2.conf: the virtual host, %D (µs) and the forwarded-for chain.
LOG_FORMAT = (
    r'LogFormat "%v %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %D \"%{X-Forwarded-For}i\"" secmon'
)

pytestmark = [
    pytest.mark.tools,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not os.access(APACHE, os.X_OK), reason="apache2 is not installed: `make test` installs it"),
]


def apache_conf(root: Path, port: int) -> str:
    modules = "\n".join(
        f"LoadModule {name}_module {MODULES}/mod_{name}.so"
        for name in (
            "mpm_event",
            "authz_core",
            "authz_user",
            "authn_core",
            "authn_file",
            "auth_basic",
            "dir",
            "mime",
            "log_config",
            "unixd",
        )
        if (MODULES / f"mod_{name}.so").exists()
    )
    return f"""
{modules}
ServerRoot {root}
ServerName shop.example
Listen 127.0.0.1:{port}
PidFile {root}/apache.pid
ErrorLog {root}/logs/error.log
User nobody
Group nogroup
DocumentRoot {root}/site
DirectoryIndex index.html
TypesConfig /etc/mime.types
<Directory {root}/site>
    Require all granted
</Directory>
<Location /login>
    AuthType Basic
    AuthName members
    AuthBasicProvider file
    AuthUserFile {root}/htpasswd
    Require valid-user
</Location>
{LOG_FORMAT}
CustomLog {root}/logs/access.log secmon
"""


@pytest.fixture(scope="module")
def apache(tmp_path_factory, stack_options_factory):
    root = tmp_path_factory.mktemp("apache")
    for folder in ("logs", "site/login", "site/static"):
        (root / folder).mkdir(parents=True)
    for page in ("index.html", "about.html", "products.html", "contact.html", "login/index.html"):
        (root / "site" / page).write_text(f"<html><body>{page}</body></html>")
    (root / "site/static/app.css").write_text("body {}")
    # Apache's workers run as nobody: the site must be readable, and every folder above it passable.
    for path in [root, *root.parents]:
        path.chmod(path.stat().st_mode | 0o011)
    for path in root.rglob("*"):
        path.chmod(path.stat().st_mode | 0o055)
    htpasswd = subprocess.run(
        ["htpasswd", "-nbB", "alice", "correct-horse"], capture_output=True, text=True, check=True
    )
    (root / "htpasswd").write_text(htpasswd.stdout)
    (root / "htpasswd").chmod(0o644)
    port = stack_options_factory().kafka_port  # a free port
    (root / "apache2.conf").write_text(apache_conf(root, port))
    server = start_web_server([APACHE, "-f", str(root / "apache2.conf"), "-DFOREGROUND"], port)
    yield root, port
    server.terminate()
    server.wait(10)


def test_a_live_apache_with_its_own_logformat_is_watched_to_alerts(apache, tmp_path, stack_options_factory):
    root, port = apache
    log = root / "logs" / "access.log"

    def rotate() -> None:  # renamed, then a graceful restart reopens it
        log.rename(root / "logs" / "access.log.1")
        subprocess.run([APACHE, "-f", str(root / "apache2.conf"), "-k", "graceful"], check=True)
        deadline = time.monotonic() + 10
        while not log.exists():  # the new log appears once the restarted workers write
            request(port, "/about.html", "198.51.100.1")
            assert time.monotonic() < deadline, "apache did not reopen its log"
            time.sleep(0.2)

    state_dir = tmp_path / "state"
    watch_a_live_server(
        port,
        log,
        ["--log-format", LOG_FORMAT],
        rotate,
        state_dir,
        stack_options_factory(),
        check=_every_request_has_its_time,
    )


def _every_request_has_its_time(pg_url: str, table: str) -> None:
    """%D is in every line: each event carries its request time, in milliseconds."""
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select count(*), count(response_time) from {table}")
        total, timed = cur.fetchone()
    conn.close()
    assert total == timed > 0
