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
from secmon.core.events import EventEncoder, encode_heartbeat
from secmon.core.kafka_clients import Producer
from secmon.core.logs.declared import DeclaredFormat
from secmon.core.logs.fields import Networks
from secmon.core.logs.formats import LineParser, MalformedLine
from secmon.core.logs.tail import LogFollower, load_positions, save_positions
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


def parse_lines(lines: list[str], parser: LineParser, encode) -> Parsed:
    messages, newest_ms, rejected, last_reject = [], None, 0, ""
    for line in lines:
        if not line.strip():
            continue
        try:
            event = parser.parse(line)
        except MalformedLine as exc:
            rejected += 1
            last_reject = f"{exc}: {line[:120]}"
            continue
        if event is None:  # a line about the log (W3C's #Fields:), not a request
            continue
        messages.append((event.ip_address.encode(), encode(event)))
        newest_ms = max(newest_ms or 0, event.request_timestamp)
    return Parsed(messages, newest_ms, rejected, last_reject)


def _parse_in_child(requests, results, log_format, trusted, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    results.cancel_join_thread()  # asked to stop, it need not wait for results nobody will read
    encode = EventEncoder().encode
    parser = LineParser(log_format, trusted)
    while (lines := requests.get()) is not None:
        results.put(parse_lines(lines, parser, encode))


class Parser:
    """Forked children that parse polls in turn while this process sends the earlier polls' events:
    one per core, up to PROCESSES, so that parsing is not held to one core.

    Queues, not pipes: a queue's own thread writes it, so a large poll submitted while a child
    writes a large result cannot leave both ends blocked on a full pipe. A W3C log's `#Fields:`
    line sets how the lines after it parse, and each child sees only its own polls: every poll
    goes with the last `#Fields:` line submitted before it."""

    PROCESSES = 4

    def __init__(self, log_format, trusted) -> None:
        context = multiprocessing.get_context("fork")
        self.children = []
        for _ in range(max(1, min(self.PROCESSES, os.cpu_count() or 1))):
            requests, results = context.Queue(), context.Queue()
            process = context.Process(
                target=_parse_in_child, args=(requests, results, log_format, trusted, os.getpid()), daemon=True
            )
            process.start()
            self.children.append((process, requests, results))
        self.submitted = self.received = 0
        self.fields_line: list[str] = []

    def submit(self, lines: list[str]) -> None:
        _, requests, _ = self.children[self.submitted % len(self.children)]
        requests.put(self.fields_line + lines)
        self.submitted += 1
        self.fields_line = [line for line in lines if line.startswith("#Fields:")][-1:] or self.fields_line

    def result(self) -> Parsed:
        """The result of the oldest poll submitted and not yet returned."""
        process, _, results = self.children[self.received % len(self.children)]
        while True:
            try:
                parsed = results.get(timeout=1.0)
                self.received += 1
                return parsed
            except queue.Empty:
                if not process.is_alive():
                    raise SecmonError(f"follow: a parser process exited with code {process.exitcode}") from None

    def close(self) -> None:
        for _, requests, _ in self.children:
            requests.put(None)
            requests.cancel_join_thread()  # a dead child reads nothing: exiting must not wait on it
        for process, requests, results in self.children:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()
            requests.close()
            results.close()


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


def follow(
    paths: list[Path],
    bootstrap_servers: str,
    topic: str,
    state_dir: Path,
    from_start: bool = False,
    trusted: Networks = (),
    poll_seconds: float = 0.2,
    stop_after_idle: float | None = None,
    log_format: str | DeclaredFormat = "auto",
    heartbeat_seconds: float = settings.HEARTBEAT_SECONDS,
    log_delay_seconds: float = settings.LOG_DELAY_SECONDS,
) -> FollowStatus:
    """Runs until SIGTERM or Ctrl-C (or `stop_after_idle` seconds without a new line)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    positions_path = state_dir / "follow-positions.json"
    follower = LogFollower(paths, load_positions(positions_path), from_start)
    parser = Parser(log_format, trusted)  # forked before the Kafka client starts its threads
    producer = Producer(bootstrap_servers, "secmon-follow")
    status = FollowStatus(pid=os.getpid(), files=[str(path) for path in paths])
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    queued: deque[_Poll] = deque()  # submitted to the parser, oldest first, not yet published

    def publish_oldest() -> None:
        """The oldest queued poll to the topic; its positions saved once the broker has it all."""
        parsed = parser.result()
        poll = queued.popleft()
        for key, value in parsed.messages:
            producer.send(topic, value, key)
        if undelivered := producer.flush():
            raise SecmonError(
                f"follow: {undelivered} events did not reach {topic} ({producer.last_error}); "
                "their lines are read again at the next start"
            )
        save_positions(positions_path, poll.positions)
        status.lines += poll.lines
        status.published += len(parsed.messages)
        status.rejected += parsed.rejected
        status.last_reject = parsed.last_reject or status.last_reject
        if parsed.newest_ms is not None:
            status.lag_seconds = max(0.0, time.time() - parsed.newest_ms / 1000)

    # Only the main thread may handle signals (a benchmark runs follow in a thread of its own).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if in_main_thread else None
    last_status, lines_at_last_status, last_line_at = 0.0, 0, time.monotonic()
    last_heartbeat_at, promised_ms = 0.0, 0  # 1970: nothing promised before the logs are caught up
    publisher = uuid.uuid4().hex  # this run's name in its heartbeats
    partitions = producer.partitions(topic)
    try:
        while not stopping:
            started, polled_at = time.monotonic(), time.time()
            lines = follower.poll()
            if lines:
                parser.submit(lines)
                queued.append(_Poll(len(lines), follower.positions()))
                last_line_at = time.monotonic()
            # Each parser keeps a poll while the oldest is sent, unless no new lines came.
            while len(queued) > (len(parser.children) if lines else 0):
                publish_oldest()
            now = time.time()
            if now - last_status >= 1.0:
                status.lines_per_second = (
                    (status.lines - lines_at_last_status) / max(now - last_status, 1e-9) if last_status else 0.0
                )
                last_status, lines_at_last_status = now, status.lines
                status_file.write(status_path(state_dir), status)
            if not queued:  # the poll found no new line, and every line read before is published
                promised_ms = int((polled_at - log_delay_seconds) * 1000)
            if time.monotonic() - last_heartbeat_at >= heartbeat_seconds:  # busy too: this publisher is alive
                send_heartbeats(producer, topic, partitions, publisher, promised_ms)
                status.heartbeats += 1
                last_heartbeat_at = time.monotonic()
            if not queued:
                if stop_after_idle is not None and time.monotonic() - last_line_at > stop_after_idle:
                    break
                time.sleep(max(0.0, poll_seconds - (time.monotonic() - started)))
        while queued:  # a graceful stop (SIGTERM) publishes what was read
            publish_oldest()
        save_positions(positions_path, follower.positions())  # a rotation seen without new lines, too
    except KeyboardInterrupt:
        pass  # what was read and not published is read again at the next start
    except OSError as exc:
        raise SecmonError(f"follow: {exc}") from exc
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        parser.close()
        producer.flush()
        follower.close()
        status_file.write(status_path(state_dir), status)
    return status
