"""`secmon follow`: a web server's access logs, live, to the events topic.

Each poll (every 0.2 s by default) reads the new complete lines of every file, parses them
(`producer.replay`: every format, `--trusted-proxy`), publishes the events, waits for the broker's
acknowledgement, and only then saves the files' positions: so a line is published within about a
second of being written, and after a crash or a restart nothing is skipped and at most one poll's
lines are published again (consumers see them twice; the ingester does not deduplicate them).
Counters and lag go to <state dir>/follow.json for `secmon status`.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from producer.event import EventEncoder
from producer.follow import LogFollower, load_positions, save_positions
from producer.publish import kafka_producer
from producer.replay import MalformedLine, Networks, parse_line

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
    started_at: float = field(default_factory=time.time)


def status_path(state_dir: Path) -> Path:
    return state_dir / "follow.json"


def read_status(state_dir: Path) -> dict | None:
    try:
        return json.loads(status_path(state_dir).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def follow(paths: list[Path], bootstrap_servers: str, topic: str, state_dir: Path, from_start: bool = False,
           trusted: Networks = (), poll_seconds: float = 0.2, stop_after_idle: float | None = None,
           log_format: str = "auto") -> FollowStatus:
    """Runs until SIGTERM or Ctrl-C (or `stop_after_idle` seconds without a new line)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    positions_path = state_dir / "follow-positions.json"
    follower = LogFollower(paths, load_positions(positions_path), from_start)
    producer = kafka_producer(bootstrap_servers, "secmon-follow")
    encode = EventEncoder().encode
    status = FollowStatus(pid=os.getpid(), files=[str(path) for path in paths])
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    # Only the main thread may handle signals (a benchmark runs follow in a thread of its own).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if in_main_thread else None
    last_status, lines_at_last_status, last_line_at = 0.0, 0, time.monotonic()
    try:
        while not stopping:
            started = time.monotonic()
            lines = follower.poll()
            newest_ms = None
            for line in lines:
                if not line.strip():
                    continue
                try:
                    event = parse_line(line, trusted, log_format)
                except MalformedLine as exc:
                    status.rejected += 1
                    status.last_reject = f"{exc}: {line[:120]}"
                    continue
                producer.send(topic, key=event.ip_address.encode(), value=encode(event))
                status.published += 1
                newest_ms = max(newest_ms or 0, event.request_timestamp)
            if lines:
                producer.flush()  # delivered before the positions move past them
                save_positions(positions_path, follower.positions())
                status.lines += len(lines)
                last_line_at = time.monotonic()
            if newest_ms is not None:
                status.lag_seconds = max(0.0, time.time() - newest_ms / 1000)
            now = time.time()
            if now - last_status >= 1.0:
                status.lines_per_second = (status.lines - lines_at_last_status) / max(now - last_status, 1e-9) \
                    if last_status else 0.0
                last_status, lines_at_last_status = now, status.lines
                _write(state_dir, status)
            if stop_after_idle is not None and time.monotonic() - last_line_at > stop_after_idle:
                break
            time.sleep(max(0.0, poll_seconds - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise SecmonError(f"follow: {exc}") from exc
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        producer.flush()
        producer.close()
        save_positions(positions_path, follower.positions())
        follower.close()
        _write(state_dir, status)
    return status


def _write(state_dir: Path, status: FollowStatus) -> None:
    status.updated_at = time.time()
    temporary = status_path(state_dir).with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(status)))
    os.replace(temporary, status_path(state_dir))
