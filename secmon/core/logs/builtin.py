"""The built-in access-log formats: what web servers, proxies, load balancers and CDNs write by
default. Each is a `LogFormat` in `registry.REGISTRY`: a name, a cheap recogniser, a parser.

Adding one is the README's "Add a log format" recipe: a `@register(...)` function here and a
fixture in tests/data/formats/ with its expectations.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote, unquote_plus

from secmon.core.addresses import strip_port
from secmon.core.events import Event
from secmon.core.logs.declared import CLF_TIME_PATTERN, QUOTED, compile_nginx
from secmon.core.logs.fields import (
    Fields,
    MalformedLine,
    Networks,
    clf_time_ms,
    iso_time_ms,
    optional,
    path_of,
    seconds_ms,
    unit_ms,
)
from secmon.core.logs.registry import register

# --- the common log format family ------------------------------------------------------------------

# [vhost[:port]] host ident user [time] "request" status bytes ["referer" "agent"] [extra fields…]
# Every group has one way to match, so that no line costs more than its length (tests/test_parse_cost.py):
# - quoted values as `[^"\\]*(?:\\.[^"\\]*)*` (the unrolled loop; one alternation per character costs 3x);
# - the user may hold spaces (a Basic-auth user is the client's to choose) but no raw quote (nginx and Apache
#   escape it), so it runs to the first ` [time] "`, whose exact shape makes each place cheap to try;
# - the host is never `-` (that is the ident of a line without a virtual host), so a user with spaces
#   cannot make the host the virtual host and a word of the user the client.
CLF = re.compile(
    rf'^(?:(?P<vhost>\S+) )?(?P<host>[^\s-]\S*|-\S+) \S+ (?P<user>[^"]*?) \[(?P<time>{CLF_TIME_PATTERN})\] '
    rf'"(?P<request>{QUOTED})" (?P<status>\d{{3}}) (?P<bytes>\d+|-)'
    rf'(?: "(?P<referer>{QUOTED})" "(?P<agent>{QUOTED})")?(?P<extra>(?: \S.*)?)$'
)
# Extra fields after combined that say something: a request time (nginx `$request_time` in seconds
# with a decimal point, Apache `%D` in microseconds without, Traefik's `123ms`), and nginx main's
# "$http_x_forwarded_for", the last quoted field. It is taken by its place, whatever it holds: a proxy's
# list that the client garbled is still the proxy's, and client_ip checks every address it reads.
REQUEST_SECONDS = re.compile(r"\d+\.\d+")
REQUEST_MICROSECONDS = re.compile(r"\d+")
REQUEST_MILLISECONDS = re.compile(r"(\d+)ms")
QUOTED_OR_WORD = re.compile(rf'"({QUOTED})"|(\S+)')


def _clf_unescape(value: str | None) -> str | None:
    if value is None or value in ("-", ""):
        return None
    return value.replace('\\"', '"').replace("\\\\", "\\") if "\\" in value else value


def _extra_fields(extra: str, fields: Fields) -> None:
    words = QUOTED_OR_WORD.findall(extra)
    for quoted, word in words:
        if fields.response_ms is None and REQUEST_SECONDS.fullmatch(word):
            fields.response_ms = seconds_ms(word)
        elif fields.response_ms is None and (ms := REQUEST_MILLISECONDS.fullmatch(word)):
            fields.response_ms = int(ms[1])
        elif quoted:
            fields.forwarded_for = _clf_unescape(quoted)  # the last quoted field
    if fields.response_ms is None and words and REQUEST_MICROSECONDS.fullmatch(words[-1][1]):
        fields.response_ms = unit_ms(words[-1][1], 1000)  # Apache %D, the usual last field


@register("clf", "common and combined (Apache, nginx, GoAccess COMMON/COMBINED), optionally with a virtual host "
          "first (vhost_combined, VCOMBINED) and extra fields last: a request time, nginx main's X-Forwarded-For, "
          "Traefik's CLF",
          recognise=lambda line: CLF.match(line.rstrip()) is not None)
def parse_clf(line: str, trusted: Networks = ()) -> Event:
    match = CLF.match(line.rstrip())
    if not match:
        raise MalformedLine("not common/combined: expected `host ident user [time] \"request\" status bytes`")
    fields = Fields(
        peer=match["host"], time_ms=clf_time_ms(match["time"]), request=_clf_unescape(match["request"]) or "",
        status=match["status"], referrer=_clf_unescape(match["referer"]), agent=_clf_unescape(match["agent"]),
        user=_clf_unescape(match["user"]),
    )
    if match["extra"]:
        _extra_fields(match["extra"], fields)
    return fields.event(trusted)


NGINX_MAIN = compile_nginx(
    """log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" '
                  '"$http_user_agent" "$http_x_forwarded_for"';"""
)
register("nginx-main", "nginx's `main` format (nginx.org packages, the official image): combined plus "
         '"$http_x_forwarded_for"', recognise=lambda line: NGINX_MAIN._regex.fullmatch(line) is not None,
         auto=False)(NGINX_MAIN.parse)


# --- JSON access logs ------------------------------------------------------------------------------

def _json_line(line: str) -> dict:
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MalformedLine(f"bad JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(doc, dict):
        raise MalformedLine("JSON line is not an object")
    return doc


def _json_parser(build):
    """A JSON format's parser: the line decoded, then `build(doc)` → Fields; a missing key named."""

    def parse(line: str, trusted: Networks = ()) -> Event:
        doc = _json_line(line)
        try:
            return build(doc).event(trusted)
        except KeyError as exc:
            raise MalformedLine(f"missing key {exc.args[0]!r}") from None
        except (TypeError, AttributeError, IndexError) as exc:
            raise MalformedLine(f"bad value: {str(exc)[:80]}") from None

    return parse


def _text(value) -> str | None:
    return None if value is None else str(value)


def _nginx_json(doc: dict) -> Fields:
    if "time_iso8601" in doc:
        time_ms = iso_time_ms(doc["time_iso8601"])
    else:
        time_ms = clf_time_ms(doc["time_local"])
    request = doc.get("request")
    return Fields(
        peer=doc["remote_addr"], time_ms=time_ms, request=request, method=doc.get("request_method"),
        url=doc.get("request_uri"), status=doc["status"], response_ms=seconds_ms(_text(doc.get("request_time"))),
        referrer=doc.get("http_referer"), agent=doc.get("http_user_agent"), user=doc.get("remote_user"),
        forwarded_for=doc.get("http_x_forwarded_for"),
    )


def _header(headers: dict, name: str) -> str | None:
    """A header of Caddy's log (a list of values per name) as one string."""
    values = headers.get(name)
    if values is None:
        return None
    return ", ".join(values) if isinstance(values, list) else str(values)


def _caddy(doc: dict) -> Fields:
    request = doc["request"]
    headers = request.get("headers") or {}
    duration = doc.get("duration")
    return Fields(
        peer=request.get("remote_ip") or strip_port(request["remote_addr"]), time_ms=round(float(doc["ts"]) * 1000),
        method=request["method"], url=request["uri"], status=doc["status"],
        response_ms=seconds_ms(_text(duration)), referrer=_header(headers, "Referer"),
        agent=_header(headers, "User-Agent"), user=doc.get("user_id") or None,
        forwarded_for=_header(headers, "X-Forwarded-For"),
    )


def _traefik(doc: dict) -> Fields:
    return Fields(
        peer=doc["ClientHost"], time_ms=iso_time_ms(doc["StartUTC"]), method=doc["RequestMethod"],
        url=doc["RequestPath"], status=doc["DownstreamStatus"],
        response_ms=unit_ms(_text(doc.get("Duration")), 1_000_000), referrer=doc.get("request_Referer"),
        agent=doc.get("request_User-Agent"), user=doc.get("ClientUsername"),
        forwarded_for=doc.get("request_X-Forwarded-For"),
    )


def _envoy_json(doc: dict) -> Fields:
    return Fields(
        peer=strip_port(doc["downstream_remote_address"]) if doc.get("downstream_remote_address") else None,
        time_ms=iso_time_ms(doc["start_time"]), method=doc["method"], url=doc["path"], status=doc["response_code"],
        response_ms=unit_ms(_text(doc.get("duration")), 1), referrer=doc.get("referer"),
        agent=doc.get("user_agent"), forwarded_for=doc.get("x_forwarded_for"),
    )


def _is_json(line: str, *keys: str):
    return line.startswith("{") and all(f'"{key}"' in line for key in keys)


register("caddy", "Caddy's JSON access log (`log` directive; duration in seconds)",
         recognise=lambda line: _is_json(line, "request", "ts"))(_json_parser(_caddy))
register("traefik", "Traefik's JSON access log (Duration in nanoseconds)",
         recognise=lambda line: _is_json(line, "ClientHost"))(_json_parser(_traefik))
register("envoy-json", "Envoy's (and Istio's) JSON access log: start_time, method, path, response_code, …",
         recognise=lambda line: _is_json(line, "start_time", "response_code"))(_json_parser(_envoy_json))
register("nginx-json", "nginx `escape=json` log_format with remote_addr, request, status, … (request_time in "
         "seconds)", recognise=lambda line: _is_json(line, "remote_addr"))(_json_parser(_nginx_json))


# --- load balancers, CDNs, object stores -------------------------------------------------------------

def _words(line: str) -> list[str]:
    return [match[1] if match[1] is not None else match[2] for match in QUOTED_OR_WORD.finditer(line)]


ALB_TYPES = ("http", "https", "h2", "grpcs", "ws", "wss")
ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def _elb_fields(words: list[str], offset: int) -> Fields:
    """Classic ELB and ALB share the middle: time elb client:port target:port 3 timings 2 statuses 2 sizes
    "request" "agent"; ALB starts with its type (offset 1)."""
    w = words[offset:]
    timings = [seconds_ms(t) for t in w[4:7] if t != "-1"]
    return Fields(
        peer=strip_port(w[2]), time_ms=iso_time_ms(w[0]), method=w[11].split(" ", 1)[0],
        url=path_of(w[11].split(" ")[1]) if w[11].count(" ") == 2 else None, request=w[11], status=w[7],
        response_ms=sum(timings) if len(timings) == 3 else None, agent=w[12],
    )


def _parse_with(words_for, build):
    def parse(line: str, trusted: Networks = ()) -> Event:
        words = words_for(line)
        try:
            return build(words).event(trusted)
        except IndexError:
            raise MalformedLine(f"too few fields ({len(words)})") from None

    return parse


register("alb", "AWS Application Load Balancer access logs",
         recognise=lambda line: line.split(" ", 1)[0] in ALB_TYPES and ISO_PREFIX.match(line.split(" ", 2)[1] if " " in line else "") is not None)(
    _parse_with(_words, lambda w: _elb_fields(w, 1)))
register("elb", "AWS Classic Load Balancer access logs",
         recognise=lambda line: ISO_PREFIX.match(line) is not None and len(_words(line)) in range(13, 17))(
    _parse_with(_words, lambda w: _elb_fields(w, 0)))


def _s3(w: list[str]) -> Fields:
    # owner bucket [time] remote_ip requester request_id operation key "request_uri" status error bytes
    # object_size total_time turn_around "referer" "agent" …
    if not w[2].startswith("["):
        raise MalformedLine("time: expected [dd/Mon/yyyy:hh:mm:ss +zzzz] as the third field")
    time_text = (w[2] + " " + w[3]).strip("[]")
    w = w[:2] + [time_text] + w[4:]
    return Fields(
        peer=w[3], time_ms=clf_time_ms(time_text), request=w[8], status=w[9], response_ms=unit_ms(w[13], 1),
        referrer=w[15], agent=w[16],
    )


register("s3", "AWS S3 server access logs",
         recognise=lambda line: re.match(r"^\S+ \S+ \[\d\d/\w{3}/\d{4}:", line) is not None)(_parse_with(_words, _s3))


# --- proxies ------------------------------------------------------------------------------------------

SQUID = re.compile(
    r"^(?P<time>\d+\.\d+)\s+(?P<elapsed>-?\d+) (?P<client>\S+) (?P<action>[A-Z_]+)/(?P<status>\d{3}) (?P<bytes>\d+) "
    r"(?P<method>\S+) (?P<url>\S+) (?P<user>\S+) (?P<hierarchy>\S+) (?P<type>\S+)\s*$"
)


@register("squid", "Squid's native access.log", recognise=lambda line: SQUID.match(line) is not None)
def parse_squid(line: str, trusted: Networks = ()) -> Event:
    match = SQUID.match(line)
    if match is None:
        raise MalformedLine("not Squid native: expected `time elapsed client action/status bytes method URL …`")
    return Fields(
        peer=match["client"], time_ms=round(float(match["time"]) * 1000), method=match["method"],
        url=path_of(match["url"]),
        status=match["status"], response_ms=unit_ms(match["elapsed"], 1), user=match["user"],
    ).event(trusted)


# A syslog header, as HAProxy's lines carry it when they come from the system log: `<pri>` (optional), a
# BSD or RFC 3339 time, the host, the program[pid] and `: `. Anchored: the client is the first field.
SYSLOG_PREFIX = (
    r"(?:<\d{1,3}>)?(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?"
    r"(?:Z|[+-]\d\d:?\d\d)?) [^\s:]+ [^\s:\[]+(?:\[\d+\])?: "
)
HAPROXY = re.compile(
    rf"^(?:{SYSLOG_PREFIX})?(?P<client>[^\s\[]+):\d+ \[(?P<time>\d\d/\w{{3}}/\d{{4}}:\d\d:\d\d:\d\d\.\d{{3}})\] "
    r"(?P<frontend>\S+) (?P<backend>\S+) (?P<timers>-?\d+/-?\d+/-?\d+/-?\d+/\+?-?\d+) (?P<status>\d{3}) "
    r"(?P<bytes>\+?\d+) \S+ \S+ \S{4} \S+ \S+ (?:\{(?P<request_headers>[^}]*)\} )?(?:\{[^}]*\} )?"
    r'"(?P<request>[^"]*)"\s*$'
)


@register("haproxy", "HAProxy's HTTP log (`option httplog`), with or without its syslog prefix",
          recognise=lambda line: HAPROXY.match(line) is not None)
def parse_haproxy(line: str, trusted: Networks = ()) -> Event:
    match = HAPROXY.match(line)
    if match is None:
        raise MalformedLine("not HAProxy httplog: expected `client:port [time] frontend backend timers status …`")
    total = match["timers"].rsplit("/", 1)[1].lstrip("+")
    return Fields(
        peer=match["client"], time_ms=clf_time_ms(match["time"]), request=match["request"], status=match["status"],
        response_ms=None if total.startswith("-") else int(total),
    ).event(trusted)


ENVOY = re.compile(
    r'^\[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]*)" (?P<status>\d{1,3}) (?P<flags>\S+) '
    r'(?P<received>\d+) (?P<sent>\d+) (?P<duration>\d+|-) (?P<upstream>\S+) "(?P<forwarded>[^"]*)" '
    r'"(?P<agent>[^"]*)" "(?P<request_id>[^"]*)" "(?P<authority>[^"]*)" "(?P<upstream_host>[^"]*)"'
)


@register("envoy", "Envoy's default access log format", recognise=lambda line: ENVOY.match(line) is not None)
def parse_envoy(line: str, trusted: Networks = ()) -> Event:
    match = ENVOY.match(line)
    if match is None:
        raise MalformedLine('not Envoy\'s default: expected `[start] "METHOD path protocol" code flags …`')
    if match["status"] == "0":
        raise MalformedLine("status: 0 (no response was sent)")
    return Fields(
        time_ms=iso_time_ms(match["time"]), method=match["method"], url=match["path"], status=match["status"],
        response_ms=unit_ms(match["duration"], 1), agent=match["agent"], forwarded_for=match["forwarded"],
    ).event(trusted)


# --- W3C extended (IIS, CloudFront) --------------------------------------------------------------------

# What IIS logs when its log file has no `#Fields:` line (its default field set).
IIS_FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
              "cs(Referer) sc-status sc-substatus sc-win32-status time-taken").split()
CLOUDFRONT_FIELDS = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
                     "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header "
                     "cs-protocol cs-bytes time-taken x-forwarded-for").split()


class W3C:
    """W3C extended logs describe themselves: a `#Fields:` line names the columns of the lines after
    it. IIS separates them by spaces (spaces inside values become `+`) and counts time-taken in
    milliseconds; CloudFront by tabs, percent-encodes values and counts seconds."""

    def __init__(self, name: str, default_fields: list[str], separator: str | None, seconds: bool) -> None:
        self.name, self.default_fields, self.separator, self.seconds = name, default_fields, separator, seconds
        self.fields = default_fields

    def directive(self, line: str) -> bool:
        if line.startswith("#Fields:"):
            self.fields = line.split(":", 1)[1].split()
        return line.startswith("#")

    def recognise(self, line: str) -> bool:
        if line.startswith("#Fields:"):  # CloudFront's name its edge location; every other W3C log is IIS-like
            return ("x-edge-location" in line) == (self.name == "cloudfront")
        if line.startswith("#"):
            return line.startswith(("#Version:", "#Software:", "#Date:", "#Remark:"))
        values = line.split(self.separator)
        return len(values) == len(self.fields) and re.match(r"\d{4}-\d\d-\d\d$", values[0]) is not None

    def parse(self, line: str, trusted: Networks = ()) -> Event | None:
        if self.directive(line):
            return None
        values = line.rstrip("\r\n").split(self.separator)
        if len(values) != len(self.fields):
            raise MalformedLine(f"{len(values)} fields where #Fields names {len(self.fields)}")
        row = dict(zip(self.fields, values))
        decode = unquote if self.seconds else (lambda text: unquote_plus(text) if text else text)
        query = optional(row.get("cs-uri-query"))
        taken = row.get("time-taken")
        try:
            return Fields(
                peer=row["c-ip"], time_ms=iso_time_ms(f"{row['date']}T{row['time']}Z"), method=row["cs-method"],
                url=decode(row["cs-uri-stem"]) + (f"?{query}" if query else ""), status=row["sc-status"],
                response_ms=seconds_ms(taken) if self.seconds else unit_ms(taken, 1),
                referrer=decode(row.get("cs(Referer)") or "-"), agent=decode(row.get("cs(User-Agent)") or "-"),
                user=row.get("cs-username"), forwarded_for=row.get("x-forwarded-for"),
            ).event(trusted)
        except KeyError as exc:
            raise MalformedLine(f"#Fields has no {exc.args[0]}") from None


_iis = W3C("w3c", IIS_FIELDS, " ", seconds=False)
_cloudfront = W3C("cloudfront", CLOUDFRONT_FIELDS, "\t", seconds=True)
register("cloudfront", "Amazon CloudFront standard logs (W3C, tab-separated)",
         recognise=_cloudfront.recognise)(_cloudfront.parse)
register("w3c", "W3C extended (IIS and others that write `#Fields:`), self-describing",
         recognise=_iis.recognise)(_iis.parse)
