"""The real engine as an oracle: Debian's Apache with ModSecurity 2 loading OWASP CRS, in a folder of its own.

`ModSecurity(root, crs, paranoia)` starts a private `apache2 -DFOREGROUND` (its own ServerRoot, PidFile,
logs and port in `root`) that runs CRS with every rule's default action `pass`, so every rule that matches
is logged, not only the first that would block (949110 still denies, last in the request phase, once every
detection rule has run). `fire(requests)` sends each
request byte for byte over a socket and returns the ids of the CRS detection rules that fired on it,
read from the JSON audit log, or None when Apache refused the request before ModSecurity's request
phase (a 400 for a target Apache will not parse, for one).

Each request is matched to its audit-log entry by its transaction id, which Apache echoes in a response
header: a marker in the request itself could make a rule fire."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from secmon.core.classify.request import Request

APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
MOD_SECURITY = MODULES / "mod_security2.so"
UNICODE_MAPPING = Path("/etc/modsecurity/unicode.mapping")  # libapache2-mod-security2's, as its recommended conf
PORTS = range(29100, 29200)  # the ports this oracle may listen on
# The client's address: CRS removes all its rules for `GET /` from 127.0.0.1 (905100, Apache's pinger).
CLIENT = "127.0.0.2"
# The rules that detect something in a request (REQUEST-911 to REQUEST-944): not 901 (initialisation),
# 905 (exceptions), 949 (the request's blocking evaluation) nor the response's 95x and 980.
DETECTION_IDS = range(911000, 949000)
# What any client sends besides the request's own parts; none makes a CRS rule fire (920300 wants an Accept,
# 920350 fires on a numeric Host).
STANDARD_HEADERS = ("Host: oracle.test", "Accept: */*", "Connection: close")
# How Apache refuses a request before ModSecurity's request phase: a target it cannot parse (400), a NUL
# escaped in the path (404), a request line over LimitRequestLine (414).
REFUSALS = (400, 404, 414)
RULE_ID = re.compile(r'\[id "(\d+)"\]')


def installed() -> bool:
    return os.access(APACHE, os.X_OK) and MOD_SECURITY.exists()


def versions() -> str:
    """Apache's and ModSecurity's versions, as the server reports them."""
    apache = subprocess.run([APACHE, "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    library = MOD_SECURITY.read_bytes()
    modsecurity = re.search(rb"ModSecurity for Apache/([0-9.]+)", library)
    return f"{apache.split(': ', 1)[-1]}, ModSecurity {modsecurity.group(1).decode() if modsecurity else '?'}"


def crs_setup(paranoia: int) -> str:
    """CRS's setup with every rule passing and logging, at one paranoia level."""
    defaults = "\n".join(f'SecDefaultAction "phase:{phase},log,auditlog,pass"' for phase in (1, 2))
    return f"""{defaults}
SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level={paranoia}"
SecAction "id:900001,phase:1,pass,t:none,nolog,setvar:tx.detection_paranoia_level={paranoia}"
SecAction "id:900990,phase:1,pass,t:none,nolog,setvar:tx.crs_setup_version=4290"
"""


def apache_conf(root: Path, port: int, crs: Path) -> str:
    modules = "\n".join(
        f"LoadModule {name}_module {MODULES}/mod_{name}.so"
        for name in ("mpm_event", "authz_core", "unique_id", "headers", "security2")
    )
    # As root, Apache's workers must run as someone else; as anyone else, they run as that user.
    user = "User nobody\nGroup nogroup" if os.geteuid() == 0 else ""
    return f"""{modules}
ServerRoot {root}
ServerName oracle.test
Listen 127.0.0.1:{port}
PidFile {root}/apache.pid
ErrorLog {root}/error.log
LogLevel warn
{user}
DocumentRoot {root}/site
# Else Apache answers 404 to a %2f in the path before ModSecurity's request phase.
AllowEncodedSlashes NoDecode
<Directory {root}/site>
    Require all granted
</Directory>
Header always set X-Oracle-Id "%{{UNIQUE_ID}}e"
Header always set X-Oracle-Examined "%{{ORACLE_EXAMINED}}e"

SecRuleEngine On
SecRequestBodyAccess On
SecResponseBodyAccess Off
# Far above the recommended 1000: a rule that hits the limit does not match, and that is no CRS semantics.
SecPcreMatchLimit 1000000
SecPcreMatchLimitRecursion 1000000
SecArgumentSeparator &
SecCookieFormat 0
SecUnicodeMapFile {UNICODE_MAPPING} 20127
SecTmpDir {root}/tmp
SecDataDir {root}/tmp
SecAuditEngine On
SecAuditLogType Serial
SecAuditLogFormat JSON
SecAuditLogParts AHZ
SecAuditLog {root}/audit.log
# Phase 2 reached: the request was examined (Apache refuses some targets before this phase).
SecAction "id:1,phase:2,pass,nolog,setenv:ORACLE_EXAMINED=1"
Include {root}/crs-setup.conf
Include {crs}/rules/*.conf
"""


def _free(port: int) -> bool:
    """Whether nothing listens on `port` now: else our probe for a started Apache could reach another server."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ModSecurity:
    """Debian's Apache with ModSecurity 2 and OWASP CRS (the folder holding its `rules/`) at one
    paranoia level, started in `root` on a free port of PORTS; `stop()` ends it."""

    def __init__(self, root: Path, crs: Path, paranoia: int) -> None:
        self.root = root
        (root / "site").mkdir(parents=True)
        (root / "tmp").mkdir()
        (root / "site" / "index.html").write_text("<html><body>oracle</body></html>")
        (root / "crs-setup.conf").write_text(crs_setup(paranoia))
        # The workers run as nobody when we are root: the site must be readable, every folder above passable.
        for path in [root, *root.parents]:
            path.chmod(path.stat().st_mode | 0o011)
        for path in (root / "site", root / "site" / "index.html", root / "tmp"):
            path.chmod(0o777 if path.is_dir() else 0o644)
        self.port, self.server = self._start(crs.resolve())

    def _start(self, crs: Path) -> tuple[int, subprocess.Popen]:
        """Apache on a port of PORTS, tried in random order: another session may take one between our
        probe and Apache's bind."""
        for port in [port for port in random.sample(PORTS, len(PORTS)) if _free(port)][:8]:
            (self.root / "apache2.conf").write_text(apache_conf(self.root, port, crs))
            server = subprocess.Popen(
                [APACHE, "-f", str(self.root / "apache2.conf"), "-DFOREGROUND"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            if self._answers(server, port):
                return port, server
            output = server.stdout.read() if server.poll() is not None else ""
            if "Address already in use" not in output + self._error_log():
                server.kill()
                raise RuntimeError(f"apache2 did not start:\n{output}{self._error_log()}")
        raise RuntimeError("no free port for apache2 in 29100-29199")

    def _answers(self, server: subprocess.Popen, port: int) -> bool:
        """Whether this Apache listens on `port`: it writes its PidFile once it holds its sockets (something
        else that answers there, taken since our probe, does not count)."""
        pid_file = self.root / "apache.pid"
        deadline = time.monotonic() + 30  # loading CRS takes a few seconds on a busy machine
        while server.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                if pid_file.exists() and pid_file.read_text().strip() == str(server.pid):
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def _error_log(self) -> str:
        log = self.root / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(10)

    def fire(self, requests: Sequence[Request]) -> list[frozenset[str] | None]:
        """For each request, the ids of the CRS detection rules that fired, or None if Apache refused it."""
        with ThreadPoolExecutor(4) as pool:
            transactions = list(pool.map(self._send, requests))
        fired = self._audit_messages({id for id in transactions if id}, deadline=time.monotonic() + 20)
        return [None if id is None else frozenset(fired[id]) for id in transactions]

    def _send(self, request: Request) -> str | None:
        """The request's transaction id, or None when Apache refused it before ModSecurity's request phase.
        A connection reset or closed without an answer is sent again: on a loaded machine one in a few
        thousand is, and not the same one twice."""
        for attempt in range(3):
            try:
                status, transaction = self._send_once(request)
            except ConnectionResetError:
                status, transaction = None, None
            if transaction or status in REFUSALS:
                return transaction
            time.sleep(0.1 * (attempt + 1))
        raise RuntimeError(f"apache2 answered {status} to {request}:\n{self._error_log()[-2000:]}")

    def _send_once(self, request: Request) -> tuple[int | None, str | None]:
        """Apache's status code (None if it closed without one) and the transaction id, if ModSecurity examined it."""
        head = [f"{request.method} {request.url} HTTP/1.1", *STANDARD_HEADERS]
        head += [] if request.method in ("GET", "HEAD") else ["Content-Length: 0"]  # an empty body, declared
        for name, value in (("User-Agent", request.user_agent), ("Referer", request.referer)):
            if value is not None:
                if "\r" in value or "\n" in value:
                    raise ValueError(f"a {name} with a line break cannot be sent as one header: {value!r}")
                head.append(f"{name}: {value}")
        raw = "\r\n".join([*head, "", ""]).encode("utf-8", "surrogateescape")
        with socket.create_connection(("127.0.0.1", self.port), timeout=30, source_address=(CLIENT, 0)) as client:
            client.sendall(raw)
            response = b""
            while chunk := client.recv(65536):
                response += chunk
        headers = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = re.match(r"HTTP/1\.[01] (\d{3}) ", headers)
        examined = re.search(r"^X-Oracle-Examined: 1\r?$", headers, re.M | re.I)
        transaction = re.search(r"^X-Oracle-Id: (\S+)\r?$", headers, re.M | re.I)
        return int(status.group(1)) if status else None, transaction.group(1) if examined and transaction else None

    def _audit_messages(self, transactions: set[str], deadline: float) -> dict[str, set[str]]:
        """The detection rule ids of each transaction's audit-log entry (written after the response, so
        waited for)."""
        while True:
            fired = {}
            # Each entry is one JSON line; a last line without its newline is still being written.
            for line in (self.root / "audit.log").read_text(errors="replace").split("\n")[:-1]:
                entry = json.loads(line)
                messages = entry.get("audit_data", {}).get("messages", [])
                ids = {id for message in messages for id in RULE_ID.findall(message)}
                fired[entry["transaction"]["transaction_id"]] = {id for id in ids if int(id) in DETECTION_IDS}
            if transactions <= fired.keys():
                return fired
            assert time.monotonic() < deadline, f"no audit entry for {len(transactions - fired.keys())} requests"
            time.sleep(0.2)
