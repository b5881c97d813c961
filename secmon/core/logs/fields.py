"""What every log format yields before it is an event: the request's fields, with the shared rules
that turn them into an `Event` (client address behind trusted proxies, time units, inferred action).

A format parser fills a `Fields`; `Fields.event()` checks and builds the event. A field that is
wrong raises `MalformedLine` naming the field, so `secmon formats check` can say why a line failed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable
from urllib.parse import urlsplit

from secmon.core.addresses import BadAddress, client_address, ip_with_port
from secmon.core.events import Event, parse_timestamp

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
DOWNLOAD_EXTENSIONS = (".pdf", ".zip", ".gz", ".tgz", ".tar", ".exe", ".dmg", ".csv", ".xlsx", ".docx", ".iso")
HIGH_PATHS = ("/login", "/signin", "/admin", "/wp-login", "/wp-admin", "/account/settings", "/checkout",
              "/payment", "/password", "/api/auth", "/upload", "/.env", "/.git")
MEDIUM_PATHS = ("/account", "/cart", "/profile", "/api/", "/logout", "/user")
LOGIN_PATHS = ("/login", "/signin", "/wp-login")


def any_of(words: tuple[str, ...]) -> re.Pattern:
    """Whether a text holds any of the words, in one search (this runs on every line)."""
    return re.compile("|".join(map(re.escape, words)))


HIGH_PATH, MEDIUM_PATH, LOGIN_PATH = any_of(HIGH_PATHS), any_of(MEDIUM_PATHS), any_of(LOGIN_PATHS)
# RFC 9110 `token`: any method a client sends, scanners' inventions included, as the schema says.
METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")


class MalformedLine(ValueError):
    """A line that is not of the format: the message names the field (and position) that failed."""


def infer_action(method: str, path: str) -> str:
    lower = path.lower().split("?", 1)[0]
    if method == "POST" and LOGIN_PATH.search(lower):
        return "login"
    if "/logout" in lower or "/signout" in lower:
        return "logout"
    if method in ("POST", "PUT") and "upload" in lower:
        return "upload_file"
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        return "submit_form"
    if lower.endswith(DOWNLOAD_EXTENSIONS) or "/download" in lower:
        return "download_file"
    if "?" in path:
        return "navigate_page"
    return "view_page"


def infer_security_level(path: str) -> str:
    lower = path.lower()
    if HIGH_PATH.search(lower):
        return "high"
    if MEDIUM_PATH.search(lower):
        return "medium"
    return "low"


def trusted_networks(cidrs: Iterable[str]) -> Networks:
    """`--trusted-proxy` values → networks; a bad one is a ValueError naming it."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            raise ValueError(f"--trusted-proxy {cidr!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _trusted(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # a host name is never a trusted proxy
        return False
    return any(ip in network for network in trusted)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Networks) -> str:
    """The request's client, which the rest of the system may act on (see `secmon.core.addresses`).

    The peer, unless it is a trusted proxy: then the right-most X-Forwarded-For address that is not
    one (addresses left of an untrusted one could be forged by the client). X-Forwarded-For is read
    only through trusted proxies, never in place of a missing peer: then the line names no client,
    unless proxies are trusted (Envoy's default format logs no peer, and its own proxy appended the
    right-most address). Every address read must be one; a line whose client is not is malformed."""
    if peer:
        try:
            client = client_address(peer)
        except BadAddress as exc:
            raise MalformedLine(f"client address: {exc}") from None
        if not trusted or not forwarded_for or not _trusted(client, trusted):
            return client
    elif not trusted:
        raise MalformedLine("client address: missing (X-Forwarded-For is read only with --trusted-proxy)")
    chain = [entry for entry in (forwarded_for or "").split(",") if entry.strip() not in ("", "-")]
    address = None
    for entry in reversed(chain):
        try:
            address = ip_with_port(entry)
        except BadAddress as exc:
            raise MalformedLine(f"X-Forwarded-For: {exc}") from None
        if not _trusted(address, trusted):
            return address
    if address is None:
        raise MalformedLine("client address: missing")
    return address  # every hop a trusted proxy: the left-most is the client


def path_of(target: str) -> str:
    """An absolute URL as load balancers and reverse proxies log every request → `/path?q`. (Elsewhere an
    absolute URL in the request line is what a client sent: open-proxy probing, kept as it is.)"""
    if target.startswith(("http://", "https://")) and "://" in target[:8]:
        parts = urlsplit(target)
        if parts.netloc and not parts.path.startswith("/") and parts.path:
            return target  # not a URL after all
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target


_MONTHS = {
    name: number
    for number, name in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}


@lru_cache(maxsize=4096)
def clf_time_ms(text: str) -> int:
    """`10/Oct/2000:13:55:36 -0700` (optionally with `.mmm` after the seconds, as HAProxy writes) →
    epoch ms. Sliced rather than strptime'd, which was two fifths of a line's parsing, and cached:
    consecutive lines share their second."""
    try:
        millis = 0
        if len(text) > 20 and text[20] == ".":  # 06/Feb/2009:12:14:14.655 (HAProxy, no zone)
            millis, text = int(text[21:24]), text[:20] + " +0000"
        if len(text) == 20:
            text += " +0000"
        if len(text) != 26 or text[2] != "/" or text[6] != "/" or text[11] != ":" or text[20] != " " or text[21] not in "+-":
            raise ValueError(text)
        zone = timedelta(hours=int(text[22:24]), minutes=int(text[24:26])) * (-1 if text[21] == "-" else 1)
        moment = datetime(
            int(text[7:11]), _MONTHS[text[3:6]], int(text[0:2]), int(text[12:14]), int(text[15:17]), int(text[18:20]),
            tzinfo=timezone(zone),
        )
    except (ValueError, KeyError):
        raise MalformedLine(f"bad time {text[:40]!r}") from None
    return int(moment.timestamp() * 1000) + millis


def iso_time_ms(text: str) -> int:
    try:
        return parse_timestamp(text.replace(" ", "T", 1) if len(text) > 10 and text[10] == " " else text)
    except (ValueError, OverflowError):
        raise MalformedLine(f"bad time {text[:40]!r}") from None


def seconds_ms(value: str | None) -> int | None:
    """A duration in seconds (`0.123`), `-` or missing → milliseconds or None."""
    if value in (None, "", "-"):
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise MalformedLine(f"bad duration {value[:20]!r}") from None
    return round(seconds * 1000) if seconds >= 0 else None


def unit_ms(value: str | None, per_ms: float) -> int | None:
    """A duration in a unit that `per_ms` of make a millisecond (1000 for µs, 1e6 for ns)."""
    if value in (None, "", "-"):
        return None
    try:
        return max(0, round(int(value) / per_ms))
    except ValueError:
        raise MalformedLine(f"bad duration {value[:20]!r}") from None


def optional(value: str | None) -> str | None:
    """`-` and empty mean absent in every access-log format."""
    return None if value in (None, "", "-") else value


# Longer values are cut: an overflow exploit's request line (tens of kB) is evidence in its first
# kilobytes, and the whole of it would exceed the topic's message limit. These keep an event under
# secmon.core.events.MAX_EVENT_BYTES even when every character is JSON-escaped (6 bytes).
MAX_URL, MAX_FIELD = 4096, 2048
# The fields a log gives as text; a JSON log can give any type.
TEXT_FIELDS = ("peer", "request", "method", "url", "referrer", "agent", "user", "forwarded_for")


@dataclass
class Fields:
    """One request as a format records it. `request` is the request line, used when `method` and
    `url` are not recorded apart."""

    peer: str | None = None
    time_ms: int | None = None
    request: str | None = None
    method: str | None = None
    url: str | None = None
    status: str | int | None = None
    response_ms: int | None = None
    referrer: str | None = None
    agent: str | None = None
    user: str | None = None
    forwarded_for: str | None = None

    def event(self, trusted: Networks = ()) -> Event:
        """The event, or MalformedLine naming the field that is wrong (a JSON log's value of the wrong type
        included: `"remote_addr": 5`)."""
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and type(value) is not str:
                raise MalformedLine(f"{name}: expected text, got {type(value).__name__}")
        method, url = self.method, self.url
        if self.request is None and (method is None or url is None):
            raise MalformedLine("request: missing")
        if self.request is not None and (method is None or url is None):
            parts = self.request.split(" ")
            if len(parts) >= 3 and parts[-1].startswith("HTTP/"):  # a raw space in the target stays in the URL
                parts = [parts[0], " ".join(parts[1:-1])]
            elif len(parts) != 2 or not METHOD.fullmatch(parts[0]):  # two words: HTTP/0.9, no protocol
                raise MalformedLine(f"request: bad request line {self.request[:60]!r}")
            method, url = method or parts[0], url or parts[1]
        if not method or not METHOD.fullmatch(method):
            raise MalformedLine(f"method: {str(method)[:40]!r} is not an HTTP method")
        if not url:
            raise MalformedLine("url: missing")
        try:
            status = int(self.status)
        except (TypeError, ValueError):
            raise MalformedLine(f"status: {str(self.status)[:20]!r} is not a number") from None
        if not 100 <= status <= 599:
            raise MalformedLine(f"status: {status} out of range")
        if self.time_ms is None:
            raise MalformedLine("time: missing")
        ip = client_ip(optional(self.peer), optional(self.forwarded_for), trusted)
        url = url[:MAX_URL]
        return Event(
            self.time_ms, ip, _capped(optional(self.agent)), url, method, status, self.response_ms,
            _capped(optional(self.referrer)), None, _capped(optional(self.user)), infer_action(method, url),
            infer_security_level(url),
        )


def _capped(value: str | None) -> str | None:
    return value if value is None or len(value) <= MAX_FIELD else value[:MAX_FIELD]
