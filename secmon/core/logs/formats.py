"""Access-log formats, in one registry: every built-in (`builtin.py`), `--format NAME`, recognition
and the formats a user declares in their server's own syntax (`declared.py`) go through it.

- `REGISTRY` (`registry.py`): name → `LogFormat` (a name, a description, a cheap recogniser, a parser).
- `LineParser`: parses a stream's lines with one declared or named format, or recognises each
  line's format (`auto`), trying the format of the previous line first: one log is one format,
  so recognition costs one regex match per line.
- A parser returns an `Event`, or None for a line that describes the log rather than a request
  (W3C's `#Fields:`), or raises `MalformedLine` naming the field and position that failed.

With trusted proxies (`--trusted-proxy CIDR`), a format that records X-Forwarded-For gives the
right-most address of the chain that is not a trusted proxy; otherwise the client is the peer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from secmon.core.events import Event
from secmon.core.logs import builtin  # noqa: F401  (its formats register themselves on import)
from secmon.core.logs.declared import DeclaredFormat, compile_declared
from secmon.core.logs.fields import MalformedLine, Networks, trusted_networks
from secmon.core.logs.registry import REGISTRY, LogFormat, register

__all__ = [
    "REGISTRY",
    "LineParser",
    "LogFormat",
    "MalformedLine",
    "Networks",
    "declared_format",
    "parse_line",
    "read_log",
    "register",
    "retime",
    "trusted_networks",
]


# The project file of named declared formats, for `--log-format NAME` (and the systemd unit).
LOG_FORMATS_FILE = "log_formats.yml"


def declared_format(text: str, project_dir: Path | None = None) -> DeclaredFormat:
    """`--log-format`: a name in the project's log_formats.yml, or the format itself (nginx's
    `log_format` line, Apache's `LogFormat` line, or either's format string)."""
    if project_dir is not None and (path := project_dir / LOG_FORMATS_FILE).exists() and " " not in text.strip():
        named = yaml.safe_load(path.read_text()) or {}
        if text in named:
            return compile_declared(named[text], text)
        raise ValueError(f"--log-format {text!r}: no such name in {path} (names: {', '.join(sorted(named))})")
    return compile_declared(text)


# Bytes that are not UTF-8, as the log was read (errors="surrogateescape"): attacks are often exactly the
# lines that carry them (an overflow's shellcode in the request line), so they are kept, percent-escaped.
_RAW_BYTES = {0xDC00 + byte: f"%{byte:02X}" for byte in range(0x80, 0x100)}


def escape_raw_bytes(line: str) -> str:
    return line if line.isascii() else line.translate(_RAW_BYTES)


class LineParser:
    """Parses the lines of one or more logs: with `log_format` (a registry name or a DeclaredFormat), or
    recognising each log's format when it is `auto`. `chosen` counts the formats that parsed.

    A log keeps its format: once a request of `source` has parsed, every later line of it is parsed in
    that format, and one that does not fit is malformed. It is never recognised again as another
    format, which would let a crafted Referer or User-Agent choose the format, and with it the fields."""

    def __init__(self, log_format: str | DeclaredFormat = "auto", trusted: Networks = ()) -> None:
        self.trusted = trusted
        self.chosen: Counter[str] = Counter()
        self._format_of: dict[str, LogFormat] = {}  # source → the format its lines are in
        if isinstance(log_format, DeclaredFormat):
            self._fixed = LogFormat(log_format.name, "declared", lambda line: True, log_format.parse, False)
        elif log_format == "auto":
            self._fixed = None
        elif log_format in REGISTRY:
            self._fixed = REGISTRY[log_format]
        else:
            raise ValueError(f"unknown log format {log_format!r}; known: {', '.join(REGISTRY)}")
        self._candidates = [entry for entry in REGISTRY.values() if entry.auto]

    def _recognise(self, line: str) -> LogFormat:
        for entry in self._candidates:
            if entry.recognise(line):
                return entry
        if line.startswith("{"):
            try:
                json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedLine(f"bad JSON: {exc.msg}") from None
            raise MalformedLine("JSON without the keys of a known JSON format (see `secmon formats`)")
        raise MalformedLine("no known format matches: name yours with --log-format (see `secmon formats`)")

    def parse(self, line: str, source: str = "") -> Event | None:
        """One line of the log `source` → an Event, None for a line that describes the log, or MalformedLine
        with the reason: nothing else, whatever the line."""
        line = escape_raw_bytes(line)
        entry = self._fixed or self._format_of.get(source)
        try:
            if entry is None:
                entry = self._recognise(line)
                event = entry.parse(line, self.trusted)
                if event is not None:  # a request parsed (not a W3C header): the log is of this format now
                    self._format_of[source] = entry
            else:
                event = entry.parse(line, self.trusted)
        except MalformedLine:
            raise
        except RecursionError:
            raise MalformedLine("JSON nested too deeply") from None
        except Exception as exc:  # noqa: BLE001 — hostile input: whatever a parser trips on is a malformed line
            raise MalformedLine(f"bad value: {type(exc).__name__}: {str(exc)[:80]}") from None
        if event is not None:
            self.chosen[entry.name] += 1
        return event

    def summary(self) -> str:
        """The formats that parsed lines, most first: what replay and follow report per file."""
        return ", ".join(f"{name} ({count:,} lines)" for name, count in self.chosen.most_common()) or "none"


def parse_line(line: str, trusted: Networks = (), log_format: str = "auto") -> Event | None:
    """One line on its own, recognised afresh (a log's later lines go through one LineParser)."""
    return LineParser(log_format, trusted).parse(line)


@dataclass
class ReplayStats:
    lines: int = 0
    parsed: int = 0
    rejected: int = 0
    first_rejects: list[str] = field(default_factory=list)


def read_log(
    stream: IO[str], stats: ReplayStats, parser: LineParser, rejects: IO[str] | None = None, shown: int = 5
) -> Iterator[Event]:
    """Parse every line; a malformed one is counted, the first `shown` described, all kept in `rejects`."""
    for number, line in enumerate(stream, start=1):
        stats.lines += 1
        if not line.strip():
            continue
        try:
            event = parser.parse(line.rstrip("\r\n"))
        except MalformedLine as exc:
            stats.rejected += 1
            if len(stats.first_rejects) < shown:
                stats.first_rejects.append(f"line {number}: {exc}")
            if rejects is not None:
                rejects.write(line if line.endswith("\n") else line + "\n")
            continue
        if event is not None:
            stats.parsed += 1
            yield event


def sniff(path: Path, log_format: str | DeclaredFormat, trusted: Networks = (), lines: int = 50) -> str:
    """The format of a file as its last `lines` lines show it: what `follow` names per file at start."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, 2) - 64 * 1024))
            tail = handle.read().decode("utf-8", errors="surrogateescape").splitlines()[-lines:]
    except OSError:
        return "not there yet: recognised line by line"
    parser = LineParser(log_format, trusted)
    for line in tail:
        if line.strip():
            try:
                parser.parse(line)
            except MalformedLine:
                pass
    return parser.summary() if parser.chosen else "no line recognised yet"


def retime(events: Iterator[Event], start_ms: int, speed: float) -> Iterator[Event]:
    """Shift timestamps so that the first event is at `start_ms`; gaps are divided by `speed`."""
    origin = None
    for event in events:
        if origin is None:
            origin = event.request_timestamp
        offset = int((event.request_timestamp - origin) / speed)
        yield event._replace(request_timestamp=start_ms + offset)
