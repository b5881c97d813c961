"""The access-log event: one definition (event.schema.json) for the producer, the ingester and the tests."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

SCHEMA_PATH = Path(__file__).with_name("event.schema.json")
SCHEMA = json.loads(SCHEMA_PATH.read_text())
FIELDS: tuple[str, ...] = tuple(SCHEMA["properties"])
SQL_TYPES: dict[str, str] = {name: spec["x-sql-type"] for name, spec in SCHEMA["properties"].items()}
NULLABLE: frozenset[str] = frozenset(
    name for name, spec in SCHEMA["properties"].items() if "null" in spec["type"]
)
ENUMS: dict[str, frozenset[str]] = {
    name: frozenset(spec["enum"]) for name, spec in SCHEMA["properties"].items() if "enum" in spec
}

# Larger messages are rejected: no access-log line is that long, and one would bloat every view.
MAX_EVENT_BYTES = 64 * 1024


class Event(NamedTuple):
    """One HTTP request. `request_timestamp` is held as epoch milliseconds (UTC) and
    serialized as ISO-8601 with milliseconds and `Z`, as in the seed's sample event."""

    request_timestamp: int
    ip_address: str
    user_agent: str | None
    url: str
    http_method: str
    status_code: int
    response_time: int | None
    referrer: str | None
    user_id: str | None
    username: str | None
    user_action: str
    security_level: str

    def to_dict(self) -> dict:
        return {**self._asdict(), "request_timestamp": iso_timestamp(self.request_timestamp)}


def iso_timestamp(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_timestamp(text: str) -> int:
    """ISO-8601 → epoch milliseconds; a timestamp without zone is taken as UTC."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000 + 0.5)


class TimestampFormatter:
    """Epoch milliseconds → ISO-8601 `…T…:…:….mmmZ`, formatting each second only once."""

    def __init__(self) -> None:
        self._second = -1
        self._second_prefix = ""

    def __call__(self, epoch_ms: int) -> str:
        seconds, millis = divmod(epoch_ms, 1000)
        if seconds != self._second:
            self._second = seconds
            self._second_prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))
        return f"{self._second_prefix}{millis:03d}Z"


class EventEncoder:
    """Serializes events to the topic's JSON bytes, faster than json.dumps of a dict.

    Strings repeat (agents, referrers, names, paths), so their JSON form is cached; the cache is
    bounded because URLs with query strings do not repeat.
    """

    CACHE_LIMIT = 200_000

    def __init__(self) -> None:
        self._quoted: dict[str | None, str] = {None: "null"}
        self._timestamp = TimestampFormatter()

    def _quote(self, value: str | None) -> str:
        quoted = self._quoted.get(value)
        if quoted is None:
            if len(self._quoted) >= self.CACHE_LIMIT:
                self._quoted = {None: "null"}
            quoted = self._quoted[value] = json.dumps(value, ensure_ascii=False)
        return quoted

    def encode(self, event: Event) -> bytes:
        # Inlined cache look-ups: this runs once per event and dominates the generator's cost.
        c, q = self._quoted.get, self._quote
        (ts, ip, agent, url, method, status, response_time, referrer, user_id, username, action, level) = event
        return (
            f'{{"request_timestamp":"{self._timestamp(ts)}","ip_address":{c(ip) or q(ip)},'
            f'"user_agent":{c(agent) or q(agent)},"url":{c(url) or q(url)},'
            f'"http_method":{c(method) or q(method)},"status_code":{status},'
            f'"response_time":{"null" if response_time is None else response_time},'
            f'"referrer":{c(referrer) or q(referrer)},"user_id":{c(user_id) or q(user_id)},'
            f'"username":{c(username) or q(username)},"user_action":{c(action) or q(action)},'
            f'"security_level":{c(level) or q(level)}}}'
        ).encode()


class InvalidEvent(ValueError):
    """A message that does not parse or does not fit the schema; the message says why."""


# (name, is_integer, nullable, allowed values or None) per field, in order: parse_event's hot loop.
_CHECKS = tuple((name, SQL_TYPES[name] == "integer", name in NULLABLE, ENUMS.get(name)) for name in FIELDS)


def parse_event(raw: bytes | None) -> Event:
    """Decode one topic message into an Event, or raise InvalidEvent with a one-line reason.

    Unknown extra fields are ignored, as RisingWave's JSON parser does.
    """
    if raw is None:
        raise InvalidEvent("message has no value (null)")
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"message is {len(raw)} bytes, over the {MAX_EVENT_BYTES}-byte limit")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(doc, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(doc).__name__}")
    values = []
    for name, is_integer, nullable, allowed in _CHECKS:
        try:
            value = doc[name]
        except KeyError:
            raise InvalidEvent(f"missing field(s): {', '.join(f for f in FIELDS if f not in doc)}") from None
        if value is None:
            if not nullable:
                raise InvalidEvent(f"{name}: must not be null")
        elif is_integer:
            if type(value) is not int or not -2**31 <= value < 2**31:
                raise InvalidEvent(f"{name}: expected a 32-bit integer, got {json.dumps(value)[:40]}")
        elif type(value) is not str:
            raise InvalidEvent(f"{name}: expected a string, got {type(value).__name__}")
        elif "\x00" in value:
            raise InvalidEvent(f"{name}: contains a NUL character")
        elif allowed is not None and value not in allowed:
            raise InvalidEvent(f"{name}: {value[:40]!r} is not one of {', '.join(sorted(allowed))}")
        values.append(value)
    try:
        values[0] = parse_timestamp(values[0])
    except ValueError:
        raise InvalidEvent(f"request_timestamp: {values[0][:40]!r} is not an ISO-8601 timestamp") from None
    return Event(*values)
