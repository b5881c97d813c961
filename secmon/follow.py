"""`secmon follow`: a web server's access logs, live, to the events topic.

Each poll (every 0.2 s by default) reads the new complete lines of every file, parses them
(`secmon.core.logs.formats`: every format, `--trusted-proxy`), publishes the events, waits for the broker's
acknowledgement, and only then saves the files' positions: so a line is published within about a
second of being written, and after a crash or a restart nothing is skipped and at most two polls'
lines are published again (consumers see them twice; the ingester does not deduplicate them).
Counters and lag go to <state dir>/follow.json for `secmon status`.

Every `heartbeat_seconds` a heartbeat (`secmon.core.events`) goes to each partition, with this
follower's promise: the time of its last poll that found every log read to the end and every line
read published, less `log_delay_seconds` (how long after its time stamp a line may reach the log).
So the engines' watermark follows the clock on a quiet site, and an attack's window closes, and
alerts, without waiting for the next visitor, yet no line still on its way is left behind (the rule:
secmon/engine/watermark.py). Every partition, because each RisingWave source actor holds the
watermark of the partitions it reads.

Parsing runs in a forked child, one poll ahead of the sending: kafka-python's `send` and the
parser each cost tens of microseconds a line, and in one interpreter they would add up.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from secmon import settings, status_file
from secmon.core.children import die_with_parent
from secmon.core.classify.classifier import default_classifier
from secmon.core.events import Event, EventEncoder, encode_heartbeat
from secmon.core.kafka_clients import Producer
from secmon.core.logs.declared import DeclaredFormat
from secmon.core.logs.fields import Networks
from secmon.core.logs.formats import LineParser
from secmon.core.logs.tail import Chunk, LogFollower, load_positions, save_positions
from secmon.core.own_addresses import OwnAddresses
from secmon.errors import SecmonError


@dataclass
class FollowStatus:
    pid: int
    files: list[str]
    updated_at: float = 0.0
    lines: int = 0
    published: int = 0
    rejected: int = 0
    lines_per_second: float = 0.0  # over the last status interval
    lag_seconds: float = 0.0  # wall clock less the newest event time published
    last_reject: str = ""
    heartbeats: int = 0  # rounds of heartbeats sent, one to each partition
    started_at: float = field(default_factory=time.time)


def status_path(state_dir: Path) -> Path:
    return state_dir / "follow.json"


def read_status(state_dir: Path) -> dict | None:
    return status_file.read(status_path(state_dir))


class Parsed(NamedTuple):
    """One poll's lines, parsed: the messages to send, and what was rejected."""

    messages: list[tuple[bytes, bytes]]  # (key = client IP, encoded event)
    newest_ms: int | None
    rejected: int
    last_reject: str


def parse_lines(chunks: list[Chunk], parser: LineParser, encode) -> Parsed:
    """Every line of a poll → its event, or a reject with the reason: a line that makes anything raise is a
    reject too, so that no line can stop the child that parses it."""
    messages, newest_ms, rejected, last_reject = [], None, 0, ""
    for source, lines in chunks:
        for line in lines:
            if not line.strip():
                continue
            try:
                event = parser.parse(line, source)
                if event is None:  # a line about the log (W3C's #Fields:), not a request
                    continue
                messages.append((event.ip_address.encode(), encode(event)))
            except Exception as exc:  # noqa: BLE001 — hostile input: MalformedLine, or anything a parser trips on
                rejected += 1
                last_reject = f"{exc}: {line[:120]}"
                continue
            newest_ms = max(newest_ms or 0, event.request_timestamp)
    return Parsed(messages, newest_ms, rejected, last_reject)


def _parse_in_child(requests, results, log_format, trusted, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    results.cancel_join_thread()  # asked to stop, it need not wait for results nobody will read
    encoder, classify = EventEncoder(), default_classifier().event  # classified once, here, at the edge
    parser = LineParser(log_format, trusted)

    def encode(event: Event) -> bytes:
        return encoder.encode(classify(event))

    while (chunks := requests.get()) is not None:
        results.put(parse_lines(chunks, parser, encode))


class _Child(NamedTuple):
    process: multiprocessing.Process
    requests: multiprocessing.Queue
    results: multiprocessing.Queue
    pending: deque  # the polls submitted to it and not yet returned, oldest first


class Parser:
    """Forked children that parse polls in turn while this process sends the earlier polls' events:
    one per core, up to PROCESSES, so that parsing is not held to one core.

    Queues, not pipes: a queue's own thread writes it, so a large poll submitted while a child
    writes a large result cannot leave both ends blocked on a full pipe. A W3C log's `#Fields:`
    line sets how the lines after it parse, and each child sees only its own polls: every poll
    goes with the last `#Fields:` line submitted before it, of its own log.

    A poll has a time budget (`budget_seconds`, plus `LINE_BUDGET_SECONDS` a line). No line should
    come near it (every pattern is linear: tests/test_parse_cost.py), but if one does, the child is
    killed and replaced, the poll's lines are rejected with the reason, and the next polls go on:
    one line must not stop `follow`."""

    PROCESSES = 4
    LINE_BUDGET_SECONDS = 0.005

    def __init__(self, log_format, trusted, budget_seconds: float = settings.PARSE_BUDGET_SECONDS) -> None:
        self._context = multiprocessing.get_context("fork")
        self._arguments = (log_format, trusted, os.getpid())
        self.budget_seconds = budget_seconds
        # Built here, before the fork: the children inherit it. Built in a child, its first build (seconds
        # when the CRS database is not cached yet) would count against the first poll's budget.
        default_classifier()
        self.children = [self._start() for _ in range(max(1, min(self.PROCESSES, os.cpu_count() or 1)))]
        self.submitted = self.received = 0
        self.fields_lines: dict[str, str] = {}  # source → its last `#Fields:` line
        self.replaced = 0  # children killed over their budget

    def _start(self) -> _Child:
        requests, results = self._context.Queue(), self._context.Queue()
        process = self._context.Process(target=_parse_in_child, args=(requests, results, *self._arguments), daemon=True)
        process.start()
        return _Child(process, requests, results, deque())

    def submit(self, chunks: list[Chunk]) -> None:
        with_fields = []
        for source, lines in chunks:
            fields_line = self.fields_lines.get(source)
            with_fields.append((source, [fields_line, *lines] if fields_line else lines))
            if fields := [line for line in lines if line.startswith("#Fields:")]:
                self.fields_lines[source] = fields[-1]
        child = self.children[self.submitted % len(self.children)]
        child.requests.put(with_fields)
        child.pending.append(with_fields)
        self.submitted += 1

    def result(self) -> Parsed:
        """The result of the oldest poll submitted and not yet returned."""
        index = self.received % len(self.children)
        child = self.children[index]
        lines = sum(len(lines) for _, lines in child.pending[0])
        deadline = time.monotonic() + self.budget_seconds + lines * self.LINE_BUDGET_SECONDS
        while True:
            try:
                parsed = child.results.get(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
                child.pending.popleft()
                self.received += 1
                return parsed
            except queue.Empty:
                if not child.process.is_alive():
                    raise SecmonError(f"follow: a parser process exited with code {child.process.exitcode}") from None
                if time.monotonic() >= deadline:
                    return self._replace(index, lines)

    def _replace(self, index: int, lines: int) -> Parsed:
        """The child at `index` overran its budget: killed, a new one in its place given its later polls."""
        child = self.children[index]
        child.process.kill()
        child.process.join()
        self._close_queues(child)
        overrun, *later = child.pending
        self.children[index] = replacement = self._start()
        for chunks in later:
            replacement.requests.put(chunks)
            replacement.pending.append(chunks)
        self.received += 1
        self.replaced += 1
        first = next((line for _, chunk in overrun for line in chunk), "")
        reason = f"parsing took over {self.budget_seconds + lines * self.LINE_BUDGET_SECONDS:.1f} s"
        return Parsed([], None, lines, f"{reason}: {lines} lines rejected from {first[:120]}")

    @staticmethod
    def _close_queues(child: _Child) -> None:
        for channel in (child.requests, child.results):
            channel.cancel_join_thread()
            channel.close()

    def close(self) -> None:
        for child in self.children:
            child.requests.put(None)
            child.requests.cancel_join_thread()  # a dead child reads nothing: exiting must not wait on it
        for child in self.children:
            child.process.join(5)
            if child.process.is_alive():
                child.process.terminate()
                child.process.join()
            child.requests.close()
            child.results.close()


def send_heartbeats(producer: Producer, topic: str, partitions: list[int], publisher: str, promised_ms: int) -> None:
    """One heartbeat to each partition: every line `publisher` publishes from now on is dated at or
    after `promised_ms`. Not waited for: a lost one is made good by the next."""
    heartbeat = encode_heartbeat(promised_ms, publisher)
    for partition in partitions:
        producer.send(topic, heartbeat, partition=partition)
    producer.flush(0)


class _Poll(NamedTuple):
    lines: int
    positions: dict  # every file's position after this poll's lines


class Follow:
    """One process: read the logs' new lines → parse them (in children, a poll ahead) → publish the
    oldest parsed poll → heartbeat → status; repeat. Shaped like secmon.engine.stream.Stream."""

    def __init__(
        self,
        paths: list[Path],
        bootstrap_servers: str,
        topic: str,
        state_dir: Path,
        from_start: bool = False,
        trusted: Networks = (),
        poll_seconds: float = 0.2,
        log_format: str | DeclaredFormat = "auto",
        heartbeat_seconds: float = settings.HEARTBEAT_SECONDS,
        log_delay_seconds: float = settings.LOG_DELAY_SECONDS,
    ) -> None:
        self.paths, self.bootstrap_servers, self.topic, self.state_dir = paths, bootstrap_servers, topic, state_dir
        self.from_start, self.trusted, self.log_format = from_start, trusted, log_format
        self.poll_seconds, self.heartbeat_seconds = poll_seconds, heartbeat_seconds
        self.log_delay_seconds = log_delay_seconds
        self.positions_path = state_dir / "follow-positions.json"
        self.status = FollowStatus(pid=os.getpid(), files=[str(path) for path in paths])
        self.stopping = False
        self.queued: deque[_Poll] = deque()  # submitted to the parser, oldest first, not yet published
        self.last_status, self.lines_at_last_status, self.last_line_at = 0.0, 0, time.monotonic()
        self.last_heartbeat_at, self.promised_ms = 0.0, 0  # 1970: nothing promised before the logs are caught up
        self.publisher = uuid.uuid4().hex  # this run's name in its heartbeats

    def _open(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.follower = LogFollower(self.paths, load_positions(self.positions_path), self.from_start)
        self.parser = Parser(self.log_format, self.trusted)  # forked before the Kafka client starts its threads
        self.own_addresses = OwnAddresses(self.state_dir, self.trusted)  # for `secmon decisions`
        self.producer = Producer(self.bootstrap_servers, "secmon-follow")
        self.partitions = self.producer.partitions(self.topic)

    def request_stop(self, *_args) -> None:
        self.stopping = True

    def run(self, stop_after_idle: float | None = None) -> FollowStatus:
        """Runs until SIGTERM or Ctrl-C (or `stop_after_idle` seconds without a new line)."""
        self._open()
        # Only the main thread may handle signals (a benchmark runs follow in a thread of its own).
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, self.request_stop) if in_main_thread else None
        try:
            while not self.stopping:
                started, polled_at = time.monotonic(), time.time()
                lines = self._poll()
                # Each parser keeps a poll while the oldest is sent, unless no new lines came.
                self._publish(keep=len(self.parser.children) if lines else 0)
                self._write_status()
                if not self.queued:  # the poll found no new line, and every line read before is published
                    self.promised_ms = int((polled_at - self.log_delay_seconds) * 1000)
                self._heartbeat()
                if not self.queued:
                    if stop_after_idle is not None and time.monotonic() - self.last_line_at > stop_after_idle:
                        break
                    time.sleep(max(0.0, self.poll_seconds - (time.monotonic() - started)))
            self._publish(keep=0)  # a graceful stop (SIGTERM) publishes what was read
            save_positions(self.positions_path, self.follower.positions())  # a rotation seen without new lines, too
        except KeyboardInterrupt:
            pass  # what was read and not published is read again at the next start
        except OSError as exc:
            raise SecmonError(f"follow: {exc}") from exc
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)
            self._close()
        return self.status

    def _poll(self) -> int:
        """The files' new complete lines, submitted to the parser; how many."""
        chunks = self.follower.poll()
        lines = sum(len(chunk) for _, chunk in chunks)
        if lines:
            self.parser.submit(chunks)
            self.queued.append(_Poll(lines, self.follower.positions()))
            self.last_line_at = time.monotonic()
        return lines

    def _publish(self, keep: int) -> None:
        """The oldest queued polls to the topic until `keep` are left."""
        while len(self.queued) > keep:
            self._send(self.parser.result(), self.queued.popleft())

    def _send(self, parsed: Parsed, poll: _Poll) -> None:
        """One poll's events to the topic; its positions saved once the broker has them all."""
        for key, value in parsed.messages:
            self.producer.send(self.topic, value, key)
        if undelivered := self.producer.flush():
            raise SecmonError(
                f"follow: {undelivered} events did not reach {self.topic} ({self.producer.last_error}); "
                "their lines are read again at the next start"
            )
        save_positions(self.positions_path, poll.positions)
        self.own_addresses.observe(key for key, _ in parsed.messages)
        self.status.lines += poll.lines
        self.status.published += len(parsed.messages)
        self.status.rejected += parsed.rejected
        self.status.last_reject = parsed.last_reject or self.status.last_reject
        if parsed.newest_ms is not None:
            self.status.lag_seconds = max(0.0, time.time() - parsed.newest_ms / 1000)

    def _heartbeat(self) -> None:
        """Every heartbeat_seconds, busy too: this publisher is alive, and promises `promised_ms`."""
        if time.monotonic() - self.last_heartbeat_at >= self.heartbeat_seconds:
            send_heartbeats(self.producer, self.topic, self.partitions, self.publisher, self.promised_ms)
            self.status.heartbeats += 1
            self.last_heartbeat_at = time.monotonic()

    def _write_status(self) -> None:
        """The counters and lines/s to <state dir>/follow.json, once a second."""
        now = time.time()
        if now - self.last_status < 1.0:
            return
        elapsed = max(now - self.last_status, 1e-9)
        lines = self.status.lines - self.lines_at_last_status
        self.status.lines_per_second = lines / elapsed if self.last_status else 0.0
        self.last_status, self.lines_at_last_status = now, self.status.lines
        status_file.write(status_path(self.state_dir), self.status)

    def _close(self) -> None:
        self.parser.close()
        self.producer.flush()
        self.follower.close()
        status_file.write(status_path(self.state_dir), self.status)
