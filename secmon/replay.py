"""A whole access log read at once: replayed as events (`secmon replay`), or checked against the
formats (`secmon formats check`); and where `replay` and `produce` send their events."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from secmon import settings
from secmon.core.logs.formats import LineParser, MalformedLine, ReplayStats, read_log, retime


def open_sink(state_dir: Path, bootstrap_servers: str | None, output: Path | None, labels: Path | None):
    """(the sink, its name for people): a JSONL file with --output, else the events topic, created if
    missing; labels go next to the output, or to <state dir>/labels.jsonl."""
    from secmon.core import endpoints, kafka_clients
    from secmon.producer.publish import FileSink, KafkaSink

    if output is not None:
        return FileSink(output, labels or output.with_suffix(".labels.jsonl")), str(output)
    servers = endpoints.bootstrap_servers(state_dir, bootstrap_servers)
    for topic in (settings.EVENTS_TOPIC, settings.LABELS_TOPIC):
        kafka_clients.ensure_topic(servers, topic, settings.DEFAULT_PARTITIONS)
    if labels is None:
        state_dir.mkdir(parents=True, exist_ok=True)
        labels = state_dir / "labels.jsonl"
    return (
        KafkaSink(servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC, labels),
        f"{settings.EVENTS_TOPIC} at {servers}",
    )


def replay_chunks(
    log_file: IO[str], parser: LineParser, rejects: IO[str] | None, retime_now: bool, speed: float
) -> tuple[ReplayStats, Iterator]:
    """The log's events, encoded and classified in parallel (one worker per core), as chunks for
    `send_chunks`; and the stats they fill as they are read (an event the classifier refuses is a reject)."""
    from secmon.producer.publish import encode_chunks_in_workers

    stats = ReplayStats()
    events = read_log(log_file, stats, parser, rejects)
    if retime_now:
        events = retime(events, int(time.time() * 1000), speed)

    def unclassifiable(reason: str) -> None:
        stats.parsed -= 1
        stats.rejected += 1
        if len(stats.first_rejects) < 5:
            stats.first_rejects.append(reason)

    return stats, encode_chunks_in_workers(events, unclassifiable)


class FormatCheck(NamedTuple):
    total: int  # lines that are not blank
    failed: list[tuple[int, str, str]]  # (line number, why, the line's start) of every line no format read
    summary: str  # the formats that read the others (LineParser.summary)


def check_log(lines: Iterable[str], parser: LineParser) -> FormatCheck:
    """Every line of a log through `parser`: how many, and which failed and why (GoAccess's invalid requests)."""
    failed, total = [], 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        total += 1
        try:
            parser.parse(line.rstrip("\r\n"))
        except MalformedLine as exc:
            failed.append((number, str(exc), line.rstrip()[:100]))
    return FormatCheck(total, failed, parser.summary())
