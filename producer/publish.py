"""Publishing a plan: to Kafka with kafka-python (tuned for throughput) or to JSONL files."""

from __future__ import annotations

import collections
import heapq
import itertools
import json
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from secmon.core.children import die_with_parent
from secmon.core.classify.classifier import Classifier, default_classifier
from secmon.core.classify.request import Request, memoizable
from secmon.core.events import Event, EventEncoder
from secmon.core.kafka_clients import Producer

from .attacks import Label
from .generate import Plan


class Sink(Protocol):
    def send_event(self, key: bytes, value: bytes) -> None: ...
    def send_label(self, value: bytes) -> None: ...
    def close(self) -> int:
        """Flush everything; returns how many messages could not be delivered."""


class KafkaSink:
    """Events and labels to their topics; labels are appended to `labels_path` as well."""

    def __init__(
        self, bootstrap_servers: str, events_topic: str, labels_topic: str, labels_path: Path | None = None
    ) -> None:
        self.producer = Producer(bootstrap_servers)
        self.events_topic, self.labels_topic = events_topic, labels_topic
        self.labels_file = open(labels_path, "ab") if labels_path else None

    def send_event(self, key: bytes, value: bytes) -> None:
        self.producer.send(self.events_topic, value, key)

    def send_label(self, value: bytes) -> None:
        self.producer.send(self.labels_topic, value)
        if self.labels_file:
            self.labels_file.write(value + b"\n")

    def close(self) -> int:
        undelivered = self.producer.flush()
        if self.labels_file:
            self.labels_file.close()
        return undelivered


class FileSink:
    """Events to one JSONL file, labels to another."""

    def __init__(self, events_path: Path, labels_path: Path) -> None:
        self.events = open(events_path, "wb")
        self.labels = open(labels_path, "wb")

    def send_event(self, key: bytes, value: bytes) -> None:
        self.events.write(value + b"\n")

    def send_label(self, value: bytes) -> None:
        self.labels.write(value + b"\n")

    def close(self) -> int:
        self.events.close()
        self.labels.close()
        return 0


@dataclass
class Summary:
    events: int = 0
    bytes: int = 0
    seconds: float = 0.0
    labels: int = 0
    undelivered: int = 0
    per_scenario: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def label_bytes(label: Label) -> bytes:
    return json.dumps(label.to_dict(), separators=(",", ":")).encode()


CHUNK_EVENTS = 5000
# Chunks the replay may hold parsed and not yet published, waiting for their classification.
CHUNKS_AHEAD = 64
FUTURES_PER_WORKER = 8
Chunk = tuple[int, int, list[bytes], list[bytes], list[Label]]  # first_ms, last_ms, keys, values, new labels


def encode_chunks(events: Iterable[Event], new_labels: list[Label] | None = None) -> Iterator[Chunk]:
    """Encoded events in chunks, cut at each new second so that realtime pacing stays steady.

    `new_labels` is a list that the event source appends to (Plan.events' on_label); each chunk
    takes the labels added since the one before."""
    encode = EventEncoder().encode
    classify = default_classifier().event  # classified once, here, for the producer and replay
    for first_ms, last_ms, keys, chunk_events, labels in event_chunks(events, new_labels):
        values = [encode(event if event.tags is not None else classify(event)) for event in chunk_events]
        yield first_ms, last_ms, keys, values, labels


def event_chunks(
    events: Iterable[Event], new_labels: list[Label] | None = None
) -> Iterator[tuple[int, int, list[bytes], list[Event], list[Label]]]:
    """The events, not yet encoded, in the chunks `encode_chunks` cuts."""
    new_labels = [] if new_labels is None else new_labels
    keys: list[bytes] = []
    chunk: list[Event] = []
    first_ms = second = None
    last_ms = 0
    for event in events:
        ts = event.request_timestamp
        if chunk and (len(chunk) >= CHUNK_EVENTS or ts // 1000 != second):
            yield first_ms, last_ms, keys, chunk, _take(new_labels)
            keys, chunk = [], []
        if not chunk:
            first_ms, second = ts, ts // 1000
        keys.append(event.ip_address.encode())
        chunk.append(event)
        last_ms = ts
    if chunk or new_labels:
        yield first_ms or last_ms, last_ms, keys, chunk, _take(new_labels)


def _start_worker(parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # Not the parent's handler (`secmon` turns SIGTERM into Ctrl-C): a handler that raises can miss a
    # signal that lands just before a blocking wait, and then the worker outlives its pool.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _classify_each(requests: list[Request]) -> list[tuple[str, ...] | str]:
    """Each request's tags, or the reason it could not be classified (then its events are rejects). Run
    in a worker, or in the caller for a request whose answer the bounded `known` let go."""
    classifier = default_classifier()
    found: list[tuple[str, ...] | str] = []
    for request in requests:
        try:
            found.append(classifier.tags(request))
        except Exception as exc:  # noqa: BLE001 - no request may stop the replay: it becomes a reject
            found.append(f"classifying {request.url[:120]!r}: {type(exc).__name__}: {exc}")
    return found


@dataclass
class _PendingChunk:
    first_ms: int
    last_ms: int
    keys: list[bytes]
    events: list[Event]
    labels: list[Label]
    asked: list[tuple] = field(default_factory=list)  # the request keys sent to a worker with this chunk
    answer: Future | None = None


def encode_chunks_in_workers(
    events: Iterable[Event], on_reject: Callable[[str], None], workers: int | None = None
) -> Iterator[Chunk]:
    """`encode_chunks` with classification in `workers` forked processes (one per core), in parallel with the
    caller's parsing, encoding and publishing. A log repeats its requests: each different request goes to a
    worker once, and its tags serve every line that repeats it (the caller keeps them, as Classifier does:
    bounded, and only requests short enough to be worth it, Request.memoizable).
    Chunks come back in their order, each event in its place; an event whose classification raises is
    left out and reported to `on_reject`."""
    workers = workers or os.cpu_count() or 1
    known: dict[tuple, tuple[str, ...] | str] = {}  # request key -> its tags, or why it has none
    asked: set[tuple] = set()  # sent to a worker, answer not yet in `known`
    in_flight: collections.deque[_PendingChunk] = collections.deque()
    encode = EventEncoder().encode
    default_classifier()  # built once, before the fork: the workers inherit it
    # An executor rather than multiprocessing.Pool: a worker that dies (killed, out of memory) fails the
    # chunks it held with BrokenProcessPool, where a Pool waits for their results for ever.
    with ProcessPoolExecutor(
        workers, multiprocessing.get_context("fork"), initializer=_start_worker, initargs=(os.getpid(),)
    ) as pool:
        for first_ms, last_ms, keys, chunk, labels in event_chunks(events):
            pending = _PendingChunk(first_ms, last_ms, keys, chunk, labels)
            new = {}
            for event in chunk:
                if event.tags is None and (key := request_key(event)) not in known and key not in asked:
                    new[key] = Request(*key)
            if new:
                pending.asked = list(new)
                pending.answer = pool.submit(_classify_each, list(new.values()))
                asked.update(key for key, request in new.items() if request.memoizable)
            in_flight.append(pending)
            # Bounded: a few chunks per worker in its queue, and a long log is never all in memory.
            while in_flight and (
                in_flight[0].answer is None
                or in_flight[0].answer.done()
                or sum(p.answer is not None for p in in_flight) > FUTURES_PER_WORKER * workers
                or len(in_flight) > CHUNKS_AHEAD
            ):
                yield _collected(in_flight.popleft(), known, asked, encode, on_reject)
        while in_flight:
            yield _collected(in_flight.popleft(), known, asked, encode, on_reject)


def _collected(
    pending: _PendingChunk, known: dict, asked: set, encode: Callable[[Event], bytes], on_reject: Callable[[str], None]
) -> Chunk:
    answers = dict(zip(pending.asked, pending.answer.result())) if pending.answer is not None else {}
    if len(known) >= Classifier.CACHE_LIMIT:
        known.clear()  # bounded; a request asked again is classified again, in the caller (below)
    known.update((key, tags) for key, tags in answers.items() if memoizable(*key[1:4]))  # url, agent, referer
    asked.difference_update(answers)
    keys, values = [], []
    for key, event in zip(pending.keys, pending.events):
        if event.tags is None:
            request = request_key(event)
            tags = answers.get(request)
            if tags is None:
                tags = known.get(request)
            if tags is None:
                tags = _classify_each([Request(*request)])[0]
            if isinstance(tags, str):
                on_reject(tags)
                continue
            event = event._replace(tags=tags)
        keys.append(key)
        values.append(encode(event))
    return pending.first_ms, pending.last_ms, keys, values, pending.labels


def request_key(event: Event) -> tuple:
    """What a request's classification reads of its event (Request's fields, in its order)."""
    return event.http_method, event.url, event.user_agent, event.referrer, event.status_code


def _take(items: list) -> list:
    taken = items[:]
    items.clear()
    return taken


def _encode_in_child(plan: Plan, conn, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    labels: list[Label] = []
    for chunk in encode_chunks(plan.events(on_label=labels.append), labels):
        conn.send(chunk)
    conn.send(None)
    conn.close()


def _chunks_from_child(plan: Plan) -> Iterator[Chunk]:
    """The plan's encoded events, generated in a forked process so that generation and the Kafka
    client do not share one interpreter (kafka-python's send path is the bottleneck)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_encode_in_child, args=(plan, sender, os.getpid()), daemon=True)
    child.start()
    sender.close()
    try:
        while (chunk := receiver.recv()) is not None:
            yield chunk
    finally:
        receiver.close()
        child.terminate()
        child.join()


def publish(plan: Plan, sink: Sink, realtime: bool = False, progress: Callable[[int], None] | None = None) -> Summary:
    """Send every event of `plan` (key = ip_address) and each label once its attack's last event is out."""
    return send_chunks(_chunks_from_child(plan), sink, realtime, progress)


def send_chunks(
    chunks: Iterable[Chunk], sink: Sink, realtime: bool = False, progress: Callable[[int], None] | None = None
) -> Summary:
    """The sending loop. With `realtime`, each chunk waits until the wall clock reaches its first event."""
    summary = Summary()
    pending: list[tuple[int, int, Label]] = []  # heap of (last event ms, arrival number, label)
    arrivals = itertools.count()
    started = time.monotonic()
    try:
        for first_ms, last_ms, keys, values, labels in chunks:
            for label in labels:
                heapq.heappush(pending, (label.last_event_ms, next(arrivals), label))
                summary.per_scenario[label.scenario] += label.events
            if realtime and (delay := first_ms / 1000 - time.time()) > 0:
                time.sleep(delay)
            for key, value in zip(keys, values):
                sink.send_event(key, value)
            summary.events += len(values)
            summary.bytes += sum(map(len, values))
            _flush_labels(pending, sink, summary, last_ms)
            if progress is not None:
                progress(len(values))
    finally:
        _flush_labels(pending, sink, summary, None)
        summary.undelivered = sink.close()
        summary.seconds = time.monotonic() - started
        summary.per_scenario["normal"] = summary.events - sum(summary.per_scenario.values())
    return summary


def _flush_labels(pending: list[tuple[int, int, Label]], sink: Sink, summary: Summary, up_to_ms: int | None) -> None:
    while pending and (up_to_ms is None or pending[0][0] <= up_to_ms):
        sink.send_label(label_bytes(heapq.heappop(pending)[2]))
        summary.labels += 1
