"""Real access logs → events, whatever the server. Each line's format is recognised on its own:

- common and combined (Apache, nginx), optionally prefixed by a virtual host as Apache's
  `vhost_combined` writes it (`%v:%p %h …` or `%v %h …`), optionally followed by the request time:
  with a decimal point in seconds (nginx `$request_time`), without in microseconds (Apache `%D`);
- nginx JSON (`escape=json` log_format with remote_addr, request, status, …; `request_time` in seconds);
- Caddy's JSON access log (`logger` http.log.access; `duration` in seconds);
- Traefik's JSON access log (`ClientHost`, `RequestMethod`, …; `Duration` in nanoseconds).

With trusted proxies (`--trusted-proxy CIDR`), a format that records X-Forwarded-For gives the
right-most address of the chain that is not a trusted proxy; otherwise the client is the peer.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import IO, Iterable, Iterator

from secmon.core.events import ENUMS, Event, parse_timestamp

# [vhost[:port]] host ident user [time] "request" status bytes ["referer" "agent" [request_time]]
CLF = re.compile(
    r'^(?:(?P<vhost>\S+) )?(?P<host>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-)'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"(?: (?P<request_time>\d+(?:\.\d+)?))?)?\s*$'
)
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
DOWNLOAD_EXTENSIONS = (".pdf", ".zip", ".gz", ".tgz", ".tar", ".exe", ".dmg", ".csv", ".xlsx", ".docx", ".iso")
HIGH_PATHS = ("/login", "/signin", "/admin", "/wp-login", "/wp-admin", "/account/settings", "/checkout",
              "/payment", "/password", "/api/auth", "/upload", "/.env", "/.git")
MEDIUM_PATHS = ("/account", "/cart", "/profile", "/api/", "/logout", "/user")


class MalformedLine(ValueError):
    pass


def infer_action(method: str, path: str) -> str:
    lower = path.lower().split("?", 1)[0]
    if any(word in lower for word in ("/login", "/signin", "/wp-login")) and method == "POST":
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
    if any(marker in lower for marker in HIGH_PATHS):
        return "high"
    if any(marker in lower for marker in MEDIUM_PATHS):
        return "medium"
    return "low"


def _unescape(value: str | None) -> str | None:
    if value is None or value == "-" or value == "":
        return None
    return value.replace('\\"', '"').replace("\\\\", "\\")


def _event(ip: str, ts_ms: int, method: str, url: str, status: int, response_ms: int | None,
           referrer: str | None, agent: str | None, user: str | None) -> Event:
    if method not in ENUMS["http_method"]:
        raise MalformedLine(f"unknown HTTP method {method[:20]!r}")
    if not 100 <= status <= 599:
        raise MalformedLine(f"status {status} out of range")
    return Event(ts_ms, ip, agent, url, method, status, response_ms, referrer, None, user,
                 infer_action(method, url), infer_security_level(url))


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
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(peer: str, forwarded_for: str | None, trusted: Networks) -> str:
    """The peer, unless it is a trusted proxy: then the right-most X-Forwarded-For address that is
    not one (addresses left of an untrusted one could be forged by the client)."""
    if not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    chain = [address.strip() for address in forwarded_for.split(",") if address.strip()]
    for address in reversed(chain):
        if not _trusted(address, trusted):
            return address
    return chain[0] if chain else peer


def _request_ms(value) -> int | None:
    """A CLF trailing request time: with a decimal point in seconds (nginx), else microseconds (Apache %D)."""
    if value in (None, "", "-"):
        return None
    return round(float(value) * 1000) if "." in str(value) else round(int(value) / 1000)


_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


@lru_cache(maxsize=4096)
def _clf_time_ms(text: str) -> int:
    """`10/Oct/2000:13:55:36 -0700` → epoch ms. Sliced rather than strptime'd, which was two fifths
    of a line's parsing, and cached: consecutive lines share their second."""
    try:
        if len(text) != 26 or text[2] != "/" or text[6] != "/" or text[11] != ":" or text[20] != " " \
                or text[21] not in "+-":
            raise ValueError(text)
        moment = datetime(int(text[7:11]), _MONTHS[text[3:6]], int(text[0:2]), int(text[12:14]), int(text[15:17]),
                          int(text[18:20]), tzinfo=timezone(timedelta(hours=int(text[22:24]), minutes=int(text[24:26]))
                                                            * (-1 if text[21] == "-" else 1)))
    except (ValueError, KeyError):
        raise MalformedLine(f"bad time {text[:40]!r}") from None
    return int(moment.timestamp() * 1000)


def parse_clf(line: str, trusted: Networks = ()) -> Event:
    match = CLF.match(line)
    if not match:
        raise MalformedLine("not combined/common log format (optionally vhost-prefixed)")
    ts_ms = _clf_time_ms(match["time"])
    parts = match["request"].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise MalformedLine(f"bad request line {match['request'][:60]!r}")
    return _event(match["host"], ts_ms, parts[0], _unescape(parts[1]) or "/", int(match["status"]),
                  _request_ms(match["request_time"]), _unescape(match["referer"]), _unescape(match["agent"]),
                  _unescape(match["user"]))


def parse_nginx_json(doc: dict, trusted: Networks = ()) -> Event:
    if "time_iso8601" in doc:
        ts_ms = parse_timestamp(doc["time_iso8601"])
    else:
        ts_ms = int(datetime.strptime(doc["time_local"], "%d/%b/%Y:%H:%M:%S %z").timestamp() * 1000)
    method = doc.get("request_method") or doc["request"].split(" ")[0]
    url = doc.get("request_uri") or doc["request"].split(" ")[1]
    request_time = doc.get("request_time")
    return _event(client_ip(doc["remote_addr"], _unescape(doc.get("http_x_forwarded_for")), trusted), ts_ms,
                  method, url, int(doc["status"]),
                  round(float(request_time) * 1000) if request_time not in (None, "", "-") else None,
                  _unescape(doc.get("http_referer")), _unescape(doc.get("http_user_agent")),
                  _unescape(doc.get("remote_user")))


def _header(headers: dict, name: str) -> str | None:
    """A header of Caddy's log (a list of values per name) as one string."""
    values = headers.get(name)
    if values is None:
        return None
    return ", ".join(values) if isinstance(values, list) else str(values)


def parse_caddy_json(doc: dict, trusted: Networks = ()) -> Event:
    request = doc["request"]
    headers = request.get("headers") or {}
    peer = request.get("remote_ip") or request["remote_addr"].rsplit(":", 1)[0].strip("[]")
    duration = doc.get("duration")
    return _event(client_ip(peer, _header(headers, "X-Forwarded-For"), trusted), round(float(doc["ts"]) * 1000),
                  request["method"], request["uri"], int(doc["status"]),
                  round(float(duration) * 1000) if duration is not None else None,
                  _header(headers, "Referer"), _header(headers, "User-Agent"), doc.get("user_id") or None)


def parse_traefik_json(doc: dict, trusted: Networks = ()) -> Event:
    duration_ns = doc.get("Duration")
    return _event(client_ip(doc["ClientHost"], doc.get("request_X-Forwarded-For"), trusted),
                  parse_timestamp(doc["StartUTC"]), doc["RequestMethod"], doc["RequestPath"],
                  int(doc["DownstreamStatus"]),
                  round(int(duration_ns) / 1_000_000) if duration_ns is not None else None,
                  _unescape(doc.get("request_Referer")), _unescape(doc.get("request_User-Agent")),
                  _unescape(doc.get("ClientUsername")))


JSON_FORMATS = {"nginx-json": parse_nginx_json, "caddy": parse_caddy_json, "traefik": parse_traefik_json}
FORMATS = ("auto", "clf", *JSON_FORMATS)  # clf: common, combined and vhost_combined


def parse_json(line: str, trusted: Networks = (), log_format: str = "auto") -> Event:
    """A JSON access log line: Caddy's, Traefik's or nginx's, told apart by their keys unless given."""
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MalformedLine(f"bad JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise MalformedLine("JSON line is not an object")
    if log_format != "auto":
        parse = JSON_FORMATS[log_format]
    elif isinstance(doc.get("request"), dict):
        parse = parse_caddy_json
    elif "ClientHost" in doc or "RequestMethod" in doc:
        parse = parse_traefik_json
    else:
        parse = parse_nginx_json
    try:
        return parse(doc, trusted)
    except KeyError as exc:
        raise MalformedLine(f"missing key {exc.args[0]!r}") from None
    except (ValueError, IndexError, TypeError, AttributeError, OverflowError) as exc:
        if isinstance(exc, MalformedLine):
            raise
        raise MalformedLine(f"bad value: {str(exc)[:80]}") from None


def parse_line(line: str, trusted: Networks = (), log_format: str = "auto") -> Event:
    """One log line → an Event, or MalformedLine with the reason: nothing else, whatever the line.
    `log_format` (one of FORMATS) forces a format; `auto` recognises each line's."""
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as exc:  # read with errors="surrogateescape": the bytes were not UTF-8
            raise MalformedLine(f"not UTF-8 at character {exc.start}") from None
    try:
        if log_format == "clf" or (log_format == "auto" and not line.lstrip().startswith("{")):
            return parse_clf(line, trusted)
        return parse_json(line, trusted, log_format)
    except RecursionError:
        raise MalformedLine("JSON nested too deeply") from None
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, MalformedLine):
            raise
        raise MalformedLine(f"bad value: {str(exc)[:80]}") from None


@dataclass
class ReplayStats:
    lines: int = 0
    parsed: int = 0
    rejected: int = 0
    first_rejects: list[str] = field(default_factory=list)


def read_log(stream: IO[str], stats: ReplayStats, rejects: IO[str] | None = None,
             shown: int = 5, trusted: Networks = (), log_format: str = "auto") -> Iterator[Event]:
    """Parse every line; a malformed one is counted, the first `shown` described, all kept in `rejects`."""
    for number, line in enumerate(stream, start=1):
        stats.lines += 1
        if not line.strip():
            continue
        try:
            event = parse_line(line.rstrip("\n"), trusted, log_format)
        except MalformedLine as exc:
            stats.rejected += 1
            if len(stats.first_rejects) < shown:
                stats.first_rejects.append(f"line {number}: {exc}")
            if rejects is not None:
                rejects.write(line if line.endswith("\n") else line + "\n")
            continue
        stats.parsed += 1
        yield event


def retime(events: Iterator[Event], start_ms: int, speed: float) -> Iterator[Event]:
    """Shift timestamps so that the first event is at `start_ms`; gaps are divided by `speed`."""
    origin = None
    for event in events:
        if origin is None:
            origin = event.request_timestamp
        offset = int((event.request_timestamp - origin) / speed)
        yield event._replace(request_timestamp=start_ms + offset)
