"""Access-log formats, in one registry: every built-in (`builtin.py`), `--format NAME`, recognition
and the formats a user declares in their server's own syntax (`declared.py`) go through it.

- `REGISTRY`: name → `LogFormat` (a name, a description, a cheap recogniser, a parser).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator

import yaml

from secmon.core.events import Event
from secmon.core.logs.declared import DeclaredFormat, compile_declared
from secmon.core.logs.fields import MalformedLine, Networks, trusted_networks

__all__ = ["REGISTRY", "LineParser", "LogFormat", "MalformedLine", "Networks", "declared_format", "parse_line",
           "read_log", "register", "retime", "trusted_networks"]


@dataclass(frozen=True)
class LogFormat:
    name: str
    description: str
    recognise: Callable[[str], bool]
    parse: Callable[[str, Networks], Event | None]
    auto: bool = True  # tried by recognition (a stricter twin of another format is not)


REGISTRY: dict[str, LogFormat] = {}


def register(name: str, description: str, recognise: Callable[[str], bool], auto: bool = True):
    """Decorator: `parse(line, trusted) -> Event | None` becomes the format `name`."""

    def add(parse):
        if name in REGISTRY:
            raise ValueError(f"log format {name!r} is registered twice")
        REGISTRY[name] = LogFormat(name, description, recognise, parse, auto)
        return parse

    return add


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


class LineParser:
    """Parses the lines of one stream: with `log_format` (a registry name or a DeclaredFormat), or
    recognising each line's format when it is `auto`. `chosen` counts the formats that parsed."""

    def __init__(self, log_format: str | DeclaredFormat = "auto", trusted: Networks = ()) -> None:
        self.trusted = trusted
        self.chosen: Counter[str] = Counter()
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
        for position, entry in enumerate(self._candidates):
            if entry.recognise(line):
                if position:  # the format of this line is tried first for the next one
                    self._candidates.insert(0, self._candidates.pop(position))
                return entry
        if line.startswith("{"):
            try:
                json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedLine(f"bad JSON: {exc.msg}") from None
            raise MalformedLine("JSON without the keys of a known JSON format (see `secmon formats`)")
        raise MalformedLine("no known format matches: name yours with --log-format (see `secmon formats`)")

    def parse(self, line: str) -> Event | None:
        """One line → an Event, None for a line that describes the log, or MalformedLine with the reason:
        nothing else, whatever the line."""
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as exc:  # read with errors="surrogateescape": the bytes were not UTF-8
                raise MalformedLine(f"not UTF-8 at character {exc.start}") from None
        entry = self._fixed
        if entry is None:
            # One log is one format: the previous line's parses this one unless it refuses it; only then is
            # the line recognised (so recognition costs a regex match per line only where the format changes).
            entry = self._candidates[0]
            try:
                event = entry.parse(line, self.trusted)
            except (MalformedLine, ValueError, TypeError, OverflowError, RecursionError):
                try:
                    entry = self._recognise(line)
                except RecursionError:
                    raise MalformedLine("JSON nested too deeply") from None
            else:
                if event is not None:
                    self.chosen[entry.name] += 1
                return event
        try:
            event = entry.parse(line, self.trusted)
        except RecursionError:
            raise MalformedLine("JSON nested too deeply") from None
        except MalformedLine:
            raise
        except (OverflowError, ValueError, TypeError) as exc:
            raise MalformedLine(f"bad value: {str(exc)[:80]}") from None
        if event is not None:
            self.chosen[entry.name] += 1
        return event

    def summary(self) -> str:
        """The formats that parsed lines, most first: what replay and follow report per file."""
        return ", ".join(f"{name} ({count:,} lines)" for name, count in self.chosen.most_common()) or "none"


_PARSERS: dict[object, LineParser] = {}


def parse_line(line: str, trusted: Networks = (), log_format: str = "auto") -> Event | None:
    """One line with a parser kept per (format, trusted proxies)."""
    key = (log_format, trusted)
    parser = _PARSERS.get(key)
    if parser is None:
        parser = _PARSERS[key] = LineParser(log_format, trusted)
    return parser.parse(line)


@dataclass
class ReplayStats:
    lines: int = 0
    parsed: int = 0
    rejected: int = 0
    first_rejects: list[str] = field(default_factory=list)


def read_log(stream: IO[str], stats: ReplayStats, parser: LineParser, rejects: IO[str] | None = None,
             shown: int = 5) -> Iterator[Event]:
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


from secmon.core.logs import builtin  # noqa: E402,F401  (registers the built-in formats)
