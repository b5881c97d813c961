"""The access-log event: one definition (event.schema.json) for the producer, the ingester and the tests."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from secmon.core.addresses import BadAddress, client_address

SCHEMA_PATH = Path(__file__).with_name("event.schema.json")
SCHEMA = json.loads(SCHEMA_PATH.read_text())
FIELDS: tuple[str, ...] = tuple(SCHEMA["properties"])
REQUIRED: frozenset[str] = frozenset(SCHEMA["required"])
SQL_TYPES: dict[str, str] = {name: spec["x-sql-type"] for name, spec in SCHEMA["properties"].items()}
NULLABLE: frozenset[str] = frozenset(name for name, spec in SCHEMA["properties"].items() if "null" in spec["type"])
PATTERNS: dict[str, re.Pattern] = {
    name: re.compile(spec["pattern"])
    for name, spec in SCHEMA["properties"].items()
    if "pattern" in spec and name != "request_timestamp"  # checked by parsing it
}
TAGS = SCHEMA["properties"]["tags"]
TAG_PATTERN = re.compile(TAGS["items"]["pattern"])
MAX_TAGS: int = TAGS["maxItems"]
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
    tags: tuple[str, ...] | None = None  # None: not classified yet (secmon.core.classify)

    def to_dict(self) -> dict:
        doc = {**self._asdict(), "request_timestamp": iso_timestamp(self.request_timestamp)}
        if self.tags is None:
            del doc["tags"]
        else:
            doc["tags"] = list(self.tags)
        return doc


def iso_timestamp(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_timestamp(text: str) -> int:
    """ISO-8601 → epoch milliseconds; a timestamp without zone is taken as UTC."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
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
        (ts, ip, agent, url, method, status, response_time, referrer, user_id, username, action, level, tags) = event
        return (
            f'{{"request_timestamp":"{self._timestamp(ts)}","ip_address":{c(ip) or q(ip)},'
            f'"user_agent":{c(agent) or q(agent)},"url":{c(url) or q(url)},'
            f'"http_method":{c(method) or q(method)},"status_code":{status},'
            f'"response_time":{"null" if response_time is None else response_time},'
            f'"referrer":{c(referrer) or q(referrer)},"user_id":{c(user_id) or q(user_id)},'
            f'"username":{c(username) or q(username)},"user_action":{c(action) or q(action)},'
            f'"security_level":{c(level) or q(level)}{_encoded_tags(tags)}}}'
        ).encode()


def _encoded_tags(tags: tuple[str, ...] | None) -> str:
    """`,"tags":[…]`, or nothing for an event not classified. Tags hold no character JSON escapes."""
    if tags is None:
        return ""
    return ',"tags":[' + ",".join(f'"{tag}"' for tag in tags) + "]"


class InvalidEvent(ValueError):
    """A message that does not parse or does not fit the schema.

    `code` is a short reason (`not_json`, `future_timestamp`, …) and `str()` the one-line
    `code: detail` kept in the rejects table.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def _reject_constant(name: str):
    raise InvalidEvent("not_json", f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """Duplicate keys are rejected: readers disagree on which one wins (first, last), and a forged
    message could show one value to the monitor and another to the next reader."""
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise InvalidEvent("duplicate_key", f"{duplicate[:40]!r} appears more than once")
    return doc


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_reject_constant)


def _limits(spec: dict) -> tuple:
    return spec.get("minimum"), spec.get("maximum"), spec.get("minLength"), spec.get("maxLength")


# (name, is_integer, nullable, allowed values or None, pattern or None, (minimum, maximum, minLength,
# maxLength)) per field, in order: parse_event's hot loop.
_CHECKS = tuple(
    (
        name,
        SQL_TYPES[name] == "integer",
        name in NULLABLE,
        ENUMS.get(name),
        PATTERNS.get(name),
        _limits(SCHEMA["properties"][name]),
    )
    for name in FIELDS
    if name in REQUIRED
)


def _check_text(name: str, value: str, min_length: int | None, max_length: int | None) -> None:
    if "\x00" in value:
        raise InvalidEvent("nul_character", f"{name} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEvent("lone_surrogate", f"{name} holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
    if (min_length is not None and len(value) < min_length) or (max_length is not None and len(value) > max_length):
        raise InvalidEvent("bad_value", f"{name} is {len(value)} characters long, outside {min_length}..{max_length}")


def _check_integer(name: str, value, minimum: int | None, maximum: int | None) -> None:
    if type(value) is not int:
        shown = json.dumps(value)[:40] if isinstance(value, (str, float, bool)) else type(value).__name__
        raise InvalidEvent("bad_type", f"{name}: expected a 32-bit integer, got {shown}")
    low = -(2**31) if minimum is None else minimum
    high = 2**31 - 1 if maximum is None else maximum
    if not low <= value <= high:
        raise InvalidEvent("bad_value", f"{name}: {str(value)[:40]} is outside {low}..{high}")


def parse_event(raw: bytes | None, latest_ms: int | None = None) -> Event:
    """Decode one topic message into an Event, or raise InvalidEvent with a one-line reason.

    Any bytes are safe to pass: nothing but InvalidEvent leaves this function. An event dated after
    `latest_ms` (epoch ms; the ingest clock plus the tolerated skew) is a `future_timestamp`.
    Unknown extra fields are ignored, as RisingWave's JSON parser does.
    """
    try:
        return _parse(raw, latest_ms)
    except InvalidEvent:
        raise
    except RecursionError:
        raise InvalidEvent("too_deep", "JSON nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 — hostile input: whatever the decoder trips on is a reject
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise InvalidEvent("unparseable", f"{type(exc).__name__}: {detail}") from None


def _parse(raw: bytes | None, latest_ms: int | None) -> Event:
    if raw is None:
        raise InvalidEvent("no_value", "message has no value (null)")
    if not raw:
        raise InvalidEvent("not_json", "message is empty")
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent("too_large", f"message is {len(raw)} bytes, over the {MAX_EVENT_BYTES}-byte limit")
    try:
        doc = _DECODER.decode(raw.decode("utf-8"))
    except InvalidEvent:
        raise
    except UnicodeDecodeError as exc:
        raise InvalidEvent("not_utf8", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise InvalidEvent("not_json", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # an integer literal past Python's 4,300-digit conversion limit
        raise InvalidEvent("bad_number", f"an integer literal is too long: {str(exc).split(':')[0]}") from None
    if not isinstance(doc, dict):
        raise InvalidEvent("not_object", f"expected a JSON object, got {type(doc).__name__}")
    values = []
    for name, is_integer, nullable, allowed, pattern, (minimum, maximum, min_length, max_length) in _CHECKS:
        try:
            value = doc[name]
        except KeyError:
            missing = ", ".join(f for f in FIELDS if f in REQUIRED and f not in doc)
            raise InvalidEvent("missing_field", f"missing field(s): {missing}") from None
        if value is None:
            if not nullable:
                raise InvalidEvent("null_field", f"{name}: must not be null")
        elif is_integer:
            _check_integer(name, value, minimum, maximum)
        elif type(value) is not str:
            raise InvalidEvent("bad_type", f"{name}: expected a string, got {type(value).__name__}")
        else:
            _check_text(name, value, min_length, max_length)
            if allowed is not None and value not in allowed:
                raise InvalidEvent("bad_value", f"{name}: {value[:40]!r} is not one of {', '.join(sorted(allowed))}")
            if pattern is not None and not pattern.match(value):
                raise InvalidEvent("bad_value", f"{name}: {value[:40]!r} does not match {pattern.pattern}")
        values.append(value)
    values.append(_checked_tags(doc.get("tags")))
    values[0] = _checked_timestamp(values[0], latest_ms)
    try:  # other shippers publish here too: the client must be an address (or a logged host name)
        values[1] = client_address(values[1])
    except BadAddress as exc:
        raise InvalidEvent("bad_address", f"ip_address: {exc}") from None
    return Event(*values)


def _checked_tags(tags) -> tuple[str, ...] | None:
    if tags is None:
        return None
    if type(tags) is not list:
        raise InvalidEvent("bad_type", f"tags: expected a list of strings, got {type(tags).__name__}")
    if len(tags) > MAX_TAGS:
        raise InvalidEvent("bad_value", f"tags: {len(tags)} tags, over the limit of {MAX_TAGS}")
    for tag in tags:
        if type(tag) is not str or not TAG_PATTERN.match(tag):
            shown = tag[:40] if type(tag) is str else type(tag).__name__
            raise InvalidEvent("bad_value", f"tags: {shown!r} does not match {TAG_PATTERN.pattern}")
    return tuple(tags)


def _checked_timestamp(text: str, latest_ms: int | None) -> int:
    try:
        epoch_ms = parse_timestamp(text)
    except (ValueError, OverflowError):
        raise InvalidEvent("bad_timestamp", f"request_timestamp: {text[:40]!r} is not an ISO-8601 timestamp") from None
    if epoch_ms < 0:
        raise InvalidEvent("bad_timestamp", f"request_timestamp: {text[:40]!r} is before 1970")
    if latest_ms is not None and epoch_ms > latest_ms:
        raise InvalidEvent(
            "future_timestamp",
            f"request_timestamp {iso_timestamp(epoch_ms)} is {(epoch_ms - latest_ms) / 1000:,.0f} s "
            "beyond the ingest clock plus the tolerated skew",
        )
    return epoch_ms


# A log shipper's "nothing happened until then": a timestamp and no request. `secmon follow`
# publishes one to every partition every few seconds; it advances the watermark on both engines, so
# that windows close and alerts go out on a silent site, and it is no request:
# models/ingest/website_requests.sql leaves it out of every view (it names no address). Its time is
# a promise of its publisher (a follower, named by `publisher`): every line it publishes from now
# on is dated at or after that time. secmon/engine/watermark.py says how the engine keeps it.
HEARTBEAT_PREFIX = b'{"heartbeat":true,'
MAX_PUBLISHER_LENGTH = 64


class Heartbeat(NamedTuple):
    epoch_ms: int
    publisher: str  # "" for a shipper that names none


def encode_heartbeat(epoch_ms: int, publisher: str = "") -> bytes:
    return HEARTBEAT_PREFIX + (
        f'"request_timestamp":"{iso_timestamp(epoch_ms)}","publisher":{json.dumps(publisher)}}}'.encode()
    )


def is_heartbeat(raw: bytes | None) -> bool:
    return raw is not None and raw.startswith(HEARTBEAT_PREFIX)


def parse_heartbeat(raw: bytes, latest_ms: int | None = None) -> Heartbeat:
    """A heartbeat's time (epoch ms) and publisher, or InvalidEvent: it is held to the same clock as an
    event. The publisher is optional (a shipper that names none is one publisher, "")."""
    try:
        doc = _DECODER.decode(raw.decode("utf-8"))
        text, publisher = doc["request_timestamp"], doc.get("publisher", "")
        if (
            not {"heartbeat", "request_timestamp"} <= set(doc) <= {"heartbeat", "request_timestamp", "publisher"}
            or type(text) is not str
            or type(publisher) is not str
            or len(publisher) > MAX_PUBLISHER_LENGTH
        ):
            raise KeyError
    except InvalidEvent:
        raise
    except Exception:  # noqa: BLE001 — hostile input: anything else is not a heartbeat
        raise InvalidEvent("bad_heartbeat", f"not a heartbeat ({HEARTBEAT_PREFIX.decode()}…): {raw[:80]!r}") from None
    return Heartbeat(_checked_timestamp(text, latest_ms), publisher)
