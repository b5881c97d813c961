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
from pathlib import Path

import pytest
from support import start_web_server, watch_a_live_server

from secmon import settings

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECMON = str(Path(sys.executable).with_name("secmon"))
LOG_FORMAT = settings.PROJECT_DIR / "deploy" / "nginx" / "secmon-log-format.conf"

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
