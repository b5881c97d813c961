"""`secmon decisions serve`: the bouncers' part of CrowdSec's local API, on a server that holds.

`GET /v1/decisions/stream` and `GET /v1/decisions`, with the bouncer's key in `X-Api-Key`
(pkg/models/localapi_swagger.yaml of crowdsecurity/crowdsec). The server is asyncio's, on the
standard library, rather than a thread per connection (http.server) or a server from PyPI:
- an idle or half-open connection costs a socket and a coroutine, never a thread, and cannot hold
  up the others: the listening socket is plain, and the TLS handshake runs in the connection's own
  task, bounded by HANDSHAKE_TIMEOUT;
- each request head must arrive within REQUEST_TIMEOUT (IDLE_TIMEOUT between kept-alive requests),
  be at most MAX_HEAD bytes, and each reply be taken within WRITE_TIMEOUT;
- connections are admitted one at a time and capped per client address (PER_CLIENT) and in all
  (MAX_CONNECTIONS, within the descriptors left); when full, the connection that has waited longest
  for a request is closed to make room, so idle ones can never lock a bouncer out; the database work
  runs on a bounded pool of WORKERS threads;
- it listens on IPv4, IPv6, or both (`[::]:PORT`);
- a 5xx body says nothing of the database: the detail goes to the server's log, in one line.
A small production server from PyPI (waitress, hypercorn) would hold most of this too, but not the
per-client cap nor the cursor that moves only once the reply is written; this is about 200 lines.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import logging
import os
import resource
import signal
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2

from secmon import settings
from secmon.core.own_addresses import own_addresses_path
from secmon.decisions.crawlers import CrawlerGate, CrawlerVerifier, window_agents
from secmon.decisions.filters import BadQuery, Test, lookup_query, passes, stream_query
from secmon.decisions.keys import bouncer_named_by, read_bouncers
from secmon.decisions.policy import Allowlist, BanPolicy, Decision, canonical_entity, decisions_from_alerts, read_alerts
from secmon.decisions.stream import Ledger
from secmon.errors import SecmonError

log = logging.getLogger("secmon.decisions")

STREAM_PATH, LOOKUP_PATH = "/v1/decisions/stream", "/v1/decisions"
HANDSHAKE_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
WRITE_TIMEOUT = 10.0
MAX_HEAD = 16 * 1024
MAX_HEADER_LINES = 64
PER_CLIENT = 32
MAX_CONNECTIONS = 512  # and never more than the descriptors left, less SPARE_DESCRIPTORS
SPARE_DESCRIPTORS = 16  # for the database connection, the ledger and its journal, the log
WORKERS = 4


class HeadTooLarge(Exception):
    pass


class DecisionService:
    """The work behind a request, on the worker pool: the bans in force (the alerts, the allowlist
    and the lifts, read now), recorded in the ledger, and what this pull is sent."""

    def __init__(
        self,
        pg_url: str,
        schema: str,
        state_dir: Path,
        policy: BanPolicy,
        trusted_proxies: Iterable = (),
        allowlist_file: Path | None = None,
    ):
        self.pg_url, self.schema, self.state_dir, self.policy = pg_url, schema, state_dir, policy
        self.trusted_proxies, self.allowlist_file = list(trusted_proxies), allowlist_file
        self.ledger = Ledger(state_dir)
        self.conn = None  # one connection for every request, reopened after a failure
        self.lock = threading.Lock()  # one pull at a time reads the alerts and writes the ledger
        self.refused: set[str] = set()  # entities logged as refused: once each
        # Verified crawlers are spared; the agents of an alert's window are read through the current
        # connection (reopened after a failure), and DNS verdicts are cached across pulls.
        self.crawlers = CrawlerGate(
            CrawlerVerifier(),
            lambda address, start, end: window_agents(self.conn, self.schema, address, start, end),
            policy.crawler_only,
        )

    def current(self, now: datetime) -> dict[str, Decision]:
        allowlist = Allowlist.from_settings(  # re-read on every pull, with the site's own addresses follow learned
            self.trusted_proxies, self.allowlist_file, own_addresses_path(self.state_dir)
        )
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.pg_url, connect_timeout=5)
        try:
            rows = read_alerts(self.conn, self.schema, self.policy, now)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self.conn.close()
            raise
        return decisions_from_alerts(
            rows, self.policy, allowlist, now, self.ledger.lifts(), self.refused, crawlers=self.crawlers
        )

    def stream(self, bouncer: str, client: str, startup: bool, tests: list[Test]) -> tuple[dict, datetime]:
        """The answer to a pull, and the time its cursor moves to once the answer is written."""
        with self.lock:
            now = datetime.now(UTC)
            self.ledger.sync(self.current(now), now)
            new, deleted = (
                self.ledger.startup(now) if startup else self.ledger.delta(self.ledger.cursor(bouncer, client), now)
            )
        answer = {
            "new": [sent.to_json(now) for sent in new if passes(sent.decision, tests)],
            "deleted": [sent.to_json(now) for sent in deleted if passes(sent.decision, tests)],
        }
        return answer, now

    def lookup(self, tests: list[Test]) -> list[dict] | None:
        with self.lock:
            now = datetime.now(UTC)
            current = self.current(now)
        found = [decision.to_json(now) for decision in current.values() if passes(decision, tests)]
        return found or None  # CrowdSec answers null when none

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.ledger.close()


def _free_descriptors() -> int:
    """How many more files this process may open (RLIMIT_NOFILE less those open now)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    try:
        return limit - len(os.listdir("/proc/self/fd"))
    except OSError:
        return limit // 2


def _client(peer) -> str:
    """The peer's address as the cursors and the cap count it (IPv4-mapped as IPv4)."""
    try:
        return canonical_entity(peer[0])
    except (ValueError, TypeError, IndexError):
        return str(peer)


class DecisionServer:
    """The HTTP side: connections, limits, routing; the work goes to `service` on the worker pool."""

    def __init__(self, service: DecisionService, socks: list[socket.socket], tls: ssl.SSLContext | None = None):
        self.service, self.socks, self.tls = service, socks, tls
        self.open: Counter[str] = Counter()
        # Connections waiting for a handshake or a request head, oldest first: the first to go when full.
        self.waiting: dict[asyncio.StreamWriter, None] = {}
        self.max_connections = max(4, min(MAX_CONNECTIONS, _free_descriptors() - SPARE_DESCRIPTORS))
        self.per_client = min(PER_CLIENT, max(1, self.max_connections // 4))
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="decisions")
        # What each authorised pull was answered: (bouncer, client, path, addresses sent as new, as deleted).
        self.pulls: list[tuple[str, str, str, list[str], list[str]]] = []
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    @property
    def server_address(self) -> tuple:
        return self.socks[0].getsockname()

    def serve_forever(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
        if threading.current_thread() is threading.main_thread():  # `serve`: Ctrl-C and SIGTERM stop it
            for signum in (signal.SIGINT, signal.SIGTERM):  # between requests, not inside one
                self.loop.add_signal_handler(signum, self.stopping.set)
        accepting = [asyncio.create_task(self._accept(sock)) for sock in self.socks]
        self.ready.set()
        await self.stopping.wait()
        for task in accepting:
            task.cancel()

    async def _accept(self, sock: socket.socket) -> None:
        """Accept one connection at a time and admit it before it costs anything more than its socket
        (asyncio's own server accepts up to its backlog at once, and only then asks)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, peer = await loop.sock_accept(sock)
            except OSError as exc:  # out of descriptors after all: wait for some to close
                log.warning("accept failed: %s", _one_line(exc))
                await asyncio.sleep(0.1)
                continue
            client = _client(peer)
            if not self._admit(client):
                conn.close()
                continue
            self.open[client] += 1
            # A server-side stream (a callback, not open_connection) so that start_tls acts as the server.
            protocol = asyncio.StreamReaderProtocol(
                asyncio.StreamReader(limit=MAX_HEAD), functools.partial(self._connection, client=client)
            )
            await loop.connect_accepted_socket(lambda protocol=protocol: protocol, conn)

    def start(self) -> DecisionServer:
        """Serve from a thread of its own (tests, embedding) until `shutdown`."""
        self.thread = threading.Thread(target=self.serve_forever, daemon=True, name="decisions-server")
        self.thread.start()
        self.ready.wait(10)
        return self

    def shutdown(self) -> None:
        if self.loop is not None and not self.loop.is_closed():  # closed: serve_forever ended (Ctrl-C, SIGTERM)
            self.loop.call_soon_threadsafe(self.stopping.set)
        if self.thread is not None:
            self.thread.join(10)
        self.pool.shutdown(wait=True)
        self.service.close()
        for sock in self.socks:
            sock.close()

    def _admit(self, client: str) -> bool:
        """Whether a new connection of `client` may stay: a client at its cap may not; when the server
        is full, the connection that has waited longest for a request makes room."""
        if self.open[client] >= self.per_client:
            return False
        if sum(self.open.values()) >= self.max_connections:
            if not self.waiting:
                return False
            oldest = next(iter(self.waiting))
            del self.waiting[oldest]
            oldest.transport.abort()
        return True

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: str) -> None:
        self.waiting[writer] = None
        try:
            if self.tls is not None:
                await writer.start_tls(self.tls, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
            await self._requests(reader, writer, client)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # a client that went away, stalled or spoke no TLS: nothing to answer
        except asyncio.CancelledError:
            pass  # the server stops: a kept-alive connection just closes
        finally:
            self.waiting.pop(writer, None)
            self.open[client] -= 1
            if not self.open[client]:
                del self.open[client]
            writer.transport.abort()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: str) -> None:
        timeout = REQUEST_TIMEOUT
        while True:
            self.waiting[writer] = None
            try:
                head = await asyncio.wait_for(_read_head(reader), timeout)
            except (asyncio.LimitOverrunError, ValueError, HeadTooLarge):
                await self._write(writer, 431, {"message": "request head too large"}, False)
                return
            if head is None:
                return  # closed between requests
            self.waiting.pop(writer, None)
            request = _parse_head(head)
            if request is None:
                await self._write(writer, 400, {"message": "not an HTTP/1.x request"}, False)
                return
            method, target, keep_alive, headers = request
            status, document, after = await self._answer(method, target, headers, client)
            await self._write(writer, status, document, keep_alive, head_only=method == "HEAD")
            if after is not None:  # the cursor moves once the reply is written, as CrowdSec's
                await asyncio.get_running_loop().run_in_executor(self.pool, after)
            if not keep_alive:
                return
            timeout = IDLE_TIMEOUT

    async def _answer(self, method: str, target: str, headers: dict, client: str):
        """(status, document, what to do once it is written) for one request."""
        path = urlsplit(target).path.rstrip("/")
        if method not in ("GET", "HEAD"):
            return 405, {"message": f"{method}: only GET and HEAD"}, None
        if path not in (STREAM_PATH, LOOKUP_PATH):
            return 404, {"message": f"{path or '/'}: not part of the bouncers' API"}, None
        bouncer = bouncer_named_by(headers.get("x-api-key"), read_bouncers(self.service.state_dir))
        if bouncer is None:
            return 403, {"message": "access forbidden"}, None
        try:
            query = urlsplit(target).query
            parsed = stream_query(query) if path == STREAM_PATH else lookup_query(query)
        except BadQuery as exc:
            return 400, {"message": str(exc)}, None
        if method == "HEAD":
            return 200, None, None  # CrowdSec's HEAD neither reads nor moves anything
        loop = asyncio.get_running_loop()
        try:
            if path == LOOKUP_PATH:
                return 200, await loop.run_in_executor(self.pool, self.service.lookup, parsed), None
            startup, tests = parsed
            work = functools.partial(self.service.stream, bouncer, client, startup, tests)
            answer, pulled_at = await loop.run_in_executor(self.pool, work)
        except Exception as exc:  # noqa: BLE001 — any failure is a generic 500, its detail logged
            log.error("%s %s by %s from %s failed: %s", method, path, bouncer, client, _one_line(exc))
            return 500, {"message": "internal error: see the decisions server's log"}, None
        self._record(bouncer, client, target, answer)
        return 200, answer, functools.partial(self.service.ledger.commit, bouncer, client, pulled_at)

    def _record(self, bouncer: str, client: str, target: str, answer: dict) -> None:
        values = {part: [decision["value"] for decision in answer[part]] for part in ("new", "deleted")}
        self.pulls.append((bouncer, client, target, values["new"], values["deleted"]))
        del self.pulls[:-1000]  # the newest only: bouncers pull every few seconds for months

    async def _write(
        self, writer: asyncio.StreamWriter, status: int, document, keep_alive: bool, head_only: bool = False
    ) -> None:
        body = b"" if head_only else json.dumps(document, separators=(",", ":")).encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nServer: secmon-decisions\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _request_line(line: str) -> tuple[str, str, str] | None:
    parts = line.split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1") or not parts[1].startswith("/"):
        return None
    return parts[0], parts[1], parts[2]


async def _read_head(reader: asyncio.StreamReader) -> list[str] | None:
    """The request line and the header lines, up to the blank line; None when the client closed before
    a request. A request line that is not HTTP/1.x (HTTP/0.9's `GET /`) ends the head at once, to be
    refused rather than waited on."""
    lines: list[str] = []
    size = 0
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not lines and not exc.partial:
                return None
            raise
        size += len(raw)
        if size > MAX_HEAD or len(lines) > MAX_HEADER_LINES:
            raise HeadTooLarge
        line = raw.decode("latin-1").rstrip("\r\n")
        if not line or (not lines and _request_line(line) is None):
            return lines or [line]
        lines.append(line)


def _parse_head(head: list[str]) -> tuple[str, str, bool, dict] | None:
    """(method, target, keep-alive, headers in lower case) of an HTTP/1.x request without a body, or None."""
    request_line, *lines = head
    parsed = _request_line(request_line)
    if parsed is None:
        return None  # HTTP/0.9 (`GET /`) among others: refused, not waited on
    method, target, version = parsed
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            return None
        headers[name.strip().lower()] = value.strip()
    if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
        return None  # the bouncers' requests have no body
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return method, target, keep_alive, headers


def listening_socket(listen: str) -> socket.socket:
    """A socket listening on HOST:PORT; `[::]:PORT` takes IPv6 and IPv4, `[::1]:PORT` IPv6 alone."""
    host, colon, port = listen.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if not colon or not host or not port.isdigit() or (":" in host and not bracketed):
        raise SecmonError(f"--listen {listen}: expected HOST:PORT, an IPv6 address in brackets ([::1]:8080)")
    host = host[1:-1] if bracketed else host
    try:
        family, _, _, _, address = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise SecmonError(f"--listen {listen}: {exc.strerror}") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:  # dual-stack only when asked for every address
        only_v6 = 0 if ipaddress.ip_address(address[0]).is_unspecified else 1
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, only_v6)
    try:
        sock.bind(address)
        sock.listen(512)
    except OSError as exc:
        sock.close()
        raise SecmonError(f"--listen {listen}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def tls_context(certificate: Path, private_key: Path | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, private_key)
    return context


def make_server(
    listen: str | Iterable[str],
    pg_url: str,
    state_dir: Path,
    schema: str | None = None,
    trusted_proxies: Iterable[str] = (),
    certificate: Path | None = None,
    private_key: Path | None = None,
    allowlist_file: Path | None = None,
) -> DecisionServer:
    """The decisions endpoint on `listen` (HOST:PORT, or several), TLS when given a certificate; `pg_url`
    should be the read-only role's."""
    policy = BanPolicy.from_project()
    service = DecisionService(
        pg_url, schema or settings.pg_schema(), state_dir, policy, trusted_proxies, allowlist_file
    )
    return DecisionServer(
        service,
        [listening_socket(address) for address in ([listen] if isinstance(listen, str) else listen)],
        tls_context(certificate, private_key) if certificate is not None else None,
    )
