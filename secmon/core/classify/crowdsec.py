"""CrowdSec's hub rules, evaluated on one request as CrowdSec evaluates them.

The rules are data (`data/crowdsec_hub.json`, written by `secmon patterns --crowdsec-hub`, see
secmon/crowdsec_hub.py). Two kinds:

- AppSec rules (vpatch-* and the generic ones). CrowdSec compiles each to Coraza SecLang
  (crowdsecurity/crowdsec pkg/appsec/appsec_rule/modsecurity.go: zonesMap, transformMap, matchMap)
  and Coraza evaluates it. The zones, transforms and operators below follow those maps; each says
  which Coraza variable, transformation or operator it stands for.
- HTTP scenarios: their `filter` is an `expr` expression over the fields CrowdSec's nginx/Apache
  parsers and its http-logs enricher derive from an access-log line (see `HttpLogFields`). A
  trigger scenario whose filter holds is a `crowdsec:` tag; a leaky one is a `bucket:` tag (the
  bucket's capacity and leak are SQL windows, from `Bucket`).

    rules = CrowdsecRules.load()
    rules.match(Request("GET", "/pages/setup/setupadministrator.action")) -> frozenset({"crowdsec:..."})
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from urllib.parse import unquote

import libinjection
import re2

from secmon.core.classify.request import Request
from secmon.core.classify.tags import BUCKET, CROWDSEC, tag

DATA_FILE = Path(__file__).parent / "data" / "crowdsec_hub.json"

# --- what an access log shows of a request, as Coraza variables --------------------------------------

# CrowdSec zone -> what an access-log line holds of it. CrowdSec maps URI to REQUEST_FILENAME (the
# path), URI_FULL to REQUEST_URI, ARGS to ARGS_GET, ARGS_NAMES to ARGS_GET_NAMES, HEADERS to
# REQUEST_HEADERS, METHOD to REQUEST_METHOD, PROTOCOL to REQUEST_PROTOCOL (zonesMap).
LOG_ZONES = ("URI", "URI_FULL", "ARGS", "ARGS_NAMES", "HEADERS", "METHOD", "PROTOCOL")
# Zones a log line never shows: a condition on them is unknowable from the log.
BODY_ZONES = ("BODY_ARGS", "BODY_ARGS_NAMES", "RAW_BODY", "FILENAMES", "FILES", "FILES_NAMES", "FILES_TOTAL_SIZE")
# The only request headers an access log (combined format) records.
LOG_HEADERS = ("user-agent", "referer")

GO_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
GO_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def unescape_strict(text: str, plus_is_space: bool) -> str | None:
    """Go's url.PathUnescape / url.QueryUnescape: None where Go returns an error (a bad `%` escape)."""
    if "%" in text and GO_BAD_ESCAPE.search(text):
        return None
    if plus_is_space:
        text = text.replace("+", " ")
    return _percent_decode(text)


def _percent_decode(text: str) -> str:
    """Every valid %XX decoded (runs as UTF-8, invalid bytes replaced); a lone `%` left as it is."""
    return unquote(text, errors="replace") if "%" in text else text


class CorazaView:
    """The Coraza variables of one request, computed once each (Coraza's Transaction.ProcessURI).

    Coraza parses the URI with Go's url.ParseRequestURI: REQUEST_FILENAME is the path, percent-decoded
    once (`+` stays `+`); on a parse error (a bad `%` escape, a control character) REQUEST_FILENAME is
    the whole URI as given, query included. REQUEST_URI is the URI as given (fragment removed).
    CrowdSec itself refuses a request whose URI Go cannot parse; from a log we keep Coraza's fallback
    and the query's arguments, so an attacker cannot hide a payload behind a stray `%`.
    """

    def __init__(self, request: Request) -> None:
        self.request = request
        self.uri = request.url.split("#", 1)[0]
        self.memo: dict[tuple, list[str]] = {}  # a source's values by its zones and transformation prefix

    @cached_property
    def filename(self) -> str:
        path = self.uri.split("?", 1)[0]
        if GO_BAD_ESCAPE.search(path) or GO_CONTROL.search(self.uri):
            return self.uri
        if URL_SCHEME.match(path):  # absolute-form target: the path after the authority
            rest = path.split(":", 1)[1]
            path = "/" + rest[2:].split("/", 1)[1] if rest.startswith("//") and "/" in rest[2:] else rest
        return _percent_decode(path)

    @cached_property
    def args(self) -> tuple[tuple[str, str], ...]:
        return self.request.args

    @cached_property
    def headers(self) -> dict[str, str]:
        present = {"user-agent": self.request.user_agent, "referer": self.request.referer}
        return {name: value for name, value in present.items() if value not in (None, "", "-")}

    def values(self, zone: str, variables: tuple[str, ...], count: bool) -> list[str]:
        """The values a SecRule target list yields for one zone; with `count` (Coraza's `&VAR:name`),
        the number of variables per name instead (CrowdSec ignores `count` without variables)."""
        if count and variables:
            return [str(len(self._named(zone, (name,)))) for name in variables]
        return self._named(zone, variables) if variables else self._all(zone)

    def _all(self, zone: str) -> list[str]:
        match zone:
            case "URI":
                return [self.filename]
            case "URI_FULL":
                return [self.uri]
            case "ARGS":
                return [value for _, value in self.args]
            case "ARGS_NAMES":
                return [name for name, _ in self.args]
            case "HEADERS":
                return list(self.headers.values())
            case "METHOD":
                return [self.request.method]
            case "PROTOCOL":
                return [self.request.protocol]
        return []

    @cached_property
    def argument_names(self) -> frozenset[str]:
        return frozenset(lowered for lowered, _, _ in self.lowered_args)

    @cached_property
    def lowered_args(self) -> tuple[tuple[str, str, str], ...]:
        return tuple((name.lower(), name, value) for name, value in self.args)

    def _named(self, zone: str, variables: tuple[str, ...]) -> list[str]:
        # Coraza's collections match a variable's key case-insensitively.
        if zone in ("ARGS", "ARGS_NAMES") and not self.args:
            return []
        wanted = {name.lower() for name in variables}
        if zone == "ARGS":
            return [value for lowered, _, value in self.lowered_args if lowered in wanted]
        if zone == "ARGS_NAMES":
            return [name for lowered, name, _ in self.lowered_args if lowered in wanted]
        if zone == "HEADERS":
            return [value for name, value in self.headers.items() if name in wanted]
        return self._all(zone)


# --- transforms (CrowdSec's transformMap -> Coraza transformations) ---------------------------------


def go_path_clean(path: str) -> str:
    """Go's path.Clean: one slash between elements, no `.`, `..` resolved, `/..` at the root is `/`."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = ("/" if rooted else "") + "/".join(parts)
    return cleaned or ("/" if rooted else ".")


def normalize_path(value: str) -> str:
    """Coraza's t:normalizePath: path.Clean, keeping a trailing slash; `.` becomes empty."""
    if not value:
        return value
    cleaned = go_path_clean(value)
    if cleaned == ".":
        return ""
    if len(value) >= 2 and value.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned


BASE64_PREFIX = re.compile(r"[A-Za-z0-9+/]*")


def base64_decode(value: str) -> str:
    """Coraza's t:base64Decode: decodes the leading run of base64 characters, stops at the first other one."""
    run = BASE64_PREFIX.match(value)[0]
    run = run[: len(run) - len(run) % 4] + {0: "", 2: "==", 3: "="}.get(len(run) % 4, "")
    try:
        return base64.b64decode(run).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def url_decode(value: str) -> str:
    """Coraza's t:urlDecode: `+` is a space, %XX decoded, invalid escapes left as they are."""
    return _percent_decode(value.replace("+", " "))


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "lowercase": str.lower,  # t:lowercase
    "uppercase": str.upper,  # t:uppercase
    "b64decode": base64_decode,  # t:base64Decode
    "length": lambda value: str(len(value.encode("utf-8", "surrogatepass"))),  # t:length (bytes)
    "urldecode": url_decode,  # t:urlDecode
    "trim": lambda value: value.strip(" \t\n\r\f\v"),  # t:trim
    "normalize_path": normalize_path,  # t:normalizePath
    "normalizepath": normalize_path,
    "htmlentitydecode": html.unescape,  # t:htmlEntityDecode
    "html_entity_decode": html.unescape,
}
# `count` is not a transformation: CrowdSec turns it into Coraza's `&` (the number of variables).
COUNT = "count"


# --- operators (CrowdSec's matchMap -> Coraza operators) ---------------------------------------------


def re2_literal(text: str) -> str:
    return "".join(char if char.isalnum() else f"\\x{{{ord(char):x}}}" for char in text)


# Coraza compiles @rx with `(?sm)` prepended (coraza internal/operators/rx.go): `.` matches a newline,
# `^` and `$` match at line ends.
SET_PATTERNS: dict[str, Callable[[str], str]] = {
    "regex": lambda value: f"(?sm){value}",  # @rx
    "equals": lambda value: rf"\A{re2_literal(value)}\z",  # @streq
    "contains": re2_literal,  # @contains
    "startsWith": lambda value: rf"\A{re2_literal(value)}",  # @beginsWith
    "endsWith": lambda value: rf"{re2_literal(value)}\z",  # @endsWith
}


def _number(text: str) -> int:
    """Coraza's numeric operators read a value with strconv.Atoi; what is not a number is 0."""
    try:
        return int(text.strip())
    except ValueError:
        return 0


def _is_sqli(value: str) -> bool:
    return bool(libinjection.is_sql_injection(value)["is_sqli"])


def _is_xss(value: str) -> bool:
    return bool(libinjection.is_xss(value)["is_xss"])


DIRECT_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "libinjectionSQL": lambda value, _: _is_sqli(value),  # @detectSQLi
    "libinjectionXSS": lambda value, _: _is_xss(value),  # @detectXSS
    "gt": lambda value, limit: _number(value) > _number(limit),  # @gt
    "lt": lambda value, limit: _number(value) < _number(limit),  # @lt
    "gte": lambda value, limit: _number(value) >= _number(limit),  # @ge
    "lte": lambda value, limit: _number(value) <= _number(limit),  # @le
    "eq": lambda value, limit: _number(value) == _number(limit),  # @eq
}
MATCH_TYPES = (*SET_PATTERNS, *DIRECT_OPERATORS)


# --- AppSec rules: leaves grouped by what they read, one re2.Set per group ------------------------


@dataclass(frozen=True)
class Source:
    """What a leaf reads: its zones and variables, with its transformation chain applied."""

    zones: tuple[str, ...]
    variables: tuple[str, ...]
    transforms: tuple[str, ...]
    count: bool

    def argument_names(self) -> frozenset[str] | None:
        """The (lowercased) argument names it reads, when it reads nothing else; else None."""
        if self.count or not self.variables or not set(self.zones) <= {"ARGS", "ARGS_NAMES"}:
            return None
        return frozenset(name.lower() for name in self.variables)

    def values(self, view: CorazaView) -> list[str]:
        """Its values, each transformation chain's prefix computed once per request for every source."""
        memo = view.memo
        key: tuple = (self.zones, self.variables, self.count, ())
        if key not in memo:
            memo[key] = [value for zone in self.zones for value in view.values(zone, self.variables, self.count)]
        values = memo[key]
        for done, name in enumerate(self.transforms, start=1):
            key = (*key[:3], self.transforms[:done])
            if key not in memo:
                memo[key] = [TRANSFORMS[name](value) for value in values]
            values = memo[key]
        return values


@dataclass(frozen=True)
class Leaf:
    source: Source
    match_type: str
    value: str
    negated: bool

    @classmethod
    def from_data(cls, data: dict) -> Leaf:
        transforms = tuple(data.get("transform") or ())
        match = data["match"]
        source = Source(
            tuple(data["zones"]),
            tuple(str(name) for name in data.get("variables") or ()),
            tuple(name for name in transforms if name != COUNT),
            COUNT in transforms,
        )
        return cls(source, match["type"], str(match.get("value", "")), bool(match.get("not", False)))

    @property
    def in_set(self) -> bool:
        """Leaves an re2.Set answers for all rules at once; the others are evaluated one by one."""
        return self.match_type in SET_PATTERNS and not self.negated

    @cached_property
    def pattern(self) -> re2._Regexp:
        return re2.compile(SET_PATTERNS[self.match_type](self.value))

    def holds(self, values: list[str]) -> bool:
        """Coraza: the rule matches when the operator (negated or not) holds for any one value."""
        if self.match_type in DIRECT_OPERATORS:
            operator = DIRECT_OPERATORS[self.match_type]
            return any(operator(value, self.value) != self.negated for value in values)
        return any((self.pattern.search(safe_text(value)) is not None) != self.negated for value in values)


def safe_text(value: str) -> str:
    """re2 reads UTF-8: a lone surrogate (only from a hostile caller) becomes U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


# A rule's condition: ("leaf", leaf index) | ("and", children) | ("or", children).
Node = tuple


class AppsecEngine:
    """Every AppSec rule: leaves that read the same source share one re2.Set, matched once per value,
    and a rule is evaluated only when one of its anchors (leaves it cannot hold without) fired."""

    def __init__(self, rules: list[dict]) -> None:
        self.leaves: list[Leaf] = []
        self.sources: dict[Source, int] = {}
        self.names: list[str] = []
        self.conditions: list[Node] = []
        self.rules_of_anchor: dict[int, list[int]] = {}
        self.always: list[int] = []  # rules without anchors: evaluated on every request
        for rule in rules:
            self._add(rule["name"], rule["condition"])
        self.sets = self._build_sets()

    def _add(self, name: str, condition: dict) -> None:
        index = len(self.names)
        self.names.append(name)
        node = self._node(condition)
        self.conditions.append(node)
        anchors = self._anchors(node)
        if anchors is None:
            self.always.append(index)
        for leaf in anchors or ():
            self.rules_of_anchor.setdefault(leaf, []).append(index)

    def _node(self, data: dict) -> Node:
        for kind in ("and", "or"):
            if kind in data:
                return (kind, tuple(self._node(child) for child in data[kind]))
        leaf = Leaf.from_data(data)
        self.leaves.append(leaf)
        self.sources.setdefault(leaf.source, len(self.sources))
        return ("leaf", len(self.leaves) - 1)

    def _anchors(self, node: Node) -> frozenset[int] | None:
        """Set-answered leaves of which at least one must fire for `node` to hold; None if there are none."""
        kind, body = node
        if kind == "leaf":
            return frozenset((body,)) if self.leaves[body].in_set else None
        children = [self._anchors(child) for child in body]
        if kind == "and":  # the most selective: not the method (most requests are GET), then the fewest
            candidates = [anchors for anchors in children if anchors is not None]
            return min(candidates, key=self._anchor_cost, default=None)
        return None if None in children else frozenset().union(*children)

    def _anchor_cost(self, anchors: frozenset[int]) -> tuple[bool, int]:
        broad = any(set(self.leaves[leaf].source.zones) & {"METHOD", "PROTOCOL"} for leaf in anchors)
        return broad, len(anchors)

    def _build_sets(self) -> list[tuple[Source, re2.Set, list[int], frozenset[str] | None]]:
        members: dict[Source, list[int]] = {}
        for index, leaf in enumerate(self.leaves):
            if leaf.in_set:
                members.setdefault(leaf.source, []).append(index)
        sets = []
        for source, leaves in members.items():
            regex_set = re2.Set.SearchSet(re2.Options())
            for leaf in leaves:
                regex_set.Add(SET_PATTERNS[self.leaves[leaf].match_type](self.leaves[leaf].value))
            regex_set.Compile()
            sets.append((source, regex_set, leaves, source.argument_names()))
        return sets

    def match(self, view: CorazaView) -> Iterator[str]:
        values: dict[Source, list[str]] = {}
        fired: set[int] = set()
        present = view.argument_names
        for source, regex_set, members, names in self.sets:
            if names is not None and names.isdisjoint(present):
                continue  # reads named arguments this request does not have
            values[source] = found = source.values(view)
            for value in dict.fromkeys(found):  # a value repeated (a=x&a=x…) is matched once
                fired.update(members[index] for index in regex_set.Match(safe_text(value)) or ())
        candidates = set(self.always)
        for leaf in fired:
            candidates.update(self.rules_of_anchor.get(leaf, ()))
        for index in sorted(candidates):
            if self._holds(self.conditions[index], fired, values, view):
                yield self.names[index]

    def _holds(self, node: Node, fired: set[int], values: dict[Source, list[str]], view: CorazaView) -> bool:
        kind, body = node
        if kind == "and":
            return all(self._holds(child, fired, values, view) for child in body)
        if kind == "or":
            return any(self._holds(child, fired, values, view) for child in body)
        leaf = self.leaves[body]
        if leaf.in_set:
            return body in fired
        if leaf.source not in values:
            values[leaf.source] = leaf.source.values(view)
        return leaf.holds(values[leaf.source])


# --- the fields CrowdSec's parsers derive from an access-log line -----------------------------------


class HttpLogFields:
    """evt.Meta / evt.Parsed of one access-log line, as the hub's parsers set them.

    parsers/s01-parse/crowdsecurity/nginx-logs.yaml (apache2-logs.yaml alike): `%{WORD:verb}
    %{DATA:request} HTTP/%{NUMBER:http_version}`, status, referer, agent; meta http_path =
    evt.Parsed.request (the whole target, query included), http_verb, http_status, log_type
    `http_access-log`, service `http`.
    parsers/s02-enrich/crowdsecurity/http-logs.yaml: `^%{GREEDYDATA:request}\\?%{GREEDYDATA:http_args}$`
    on request (greedy: split at the last `?`, request loses its query), then
    `%{DIR:file_dir}(%{FILE:file_frag}%{EXT:file_ext})?` with DIR `^.*/`, FILE `[^/].*?`, EXT
    `\\.[^.]*$|$`; file_name = file_frag + file_ext; http_args_len = len(http_args); static_ressource
    from file_ext. A static whose value is empty is skipped, so meta http_path keeps the query.
    """

    def __init__(self, request: Request) -> None:
        self.request = request
        self.memo: dict[str, object] = {}  # functions of fields, computed once for every filter

    @cached_property
    def split(self) -> tuple[str, str]:
        url = self.request.url
        head, mark, args = url.rpartition("?")
        return (head, args) if mark else (url, "")

    @cached_property
    def file_parts(self) -> tuple[str, str, str]:
        """(file_dir, file_frag, file_ext): all empty when the path has no `/` (the grok fails)."""
        path = self.split[0]
        slash = path.rfind("/")
        if slash < 0:
            return "", "", ""
        rest = path[slash + 1 :]
        dot = rest.rfind(".")
        if dot >= 1:  # FILE takes at least one character before EXT's dot
            return path[: slash + 1], rest[:dot], rest[dot:]
        return path[: slash + 1], rest, ""

    def static_ressource(self) -> str:
        return "true" if self.file_parts[2].upper() in STATIC_EXTENSIONS else "false"


STATIC_EXTENSIONS = frozenset(
    ".JPG .CSS .JS .JPEG .PNG .SVG .MAP .ICO .OTF .GIF .MP3 .MP4 .WOFF .WOFF2 .TTF .EOT .WEBP .WAV .GZ .BROTLI "
    ".BVR .TS .BMP .AVIF .MJS".split()
)
FIELDS: dict[str, Callable[[HttpLogFields], str]] = {
    "evt.Meta.http_path": lambda fields: fields.request.url,
    "evt.Parsed.request": lambda fields: fields.split[0],
    "evt.Parsed.http_args": lambda fields: fields.split[1],
    "evt.Meta.http_args_len": lambda fields: str(len(fields.split[1].encode("utf-8", "replace"))),
    "evt.Parsed.file_dir": lambda fields: fields.file_parts[0],
    "evt.Parsed.file_frag": lambda fields: fields.file_parts[1],
    "evt.Parsed.file_ext": lambda fields: fields.file_parts[2],
    "evt.Parsed.file_name": lambda fields: fields.file_parts[1] + fields.file_parts[2],
    "evt.Parsed.static_ressource": HttpLogFields.static_ressource,
    "evt.Parsed.verb": lambda fields: fields.request.method,
    "evt.Meta.http_verb": lambda fields: fields.request.method,
    "evt.Meta.http_status": lambda fields: str(fields.request.status),
    "evt.Parsed.status": lambda fields: str(fields.request.status),
    "evt.Parsed.http_user_agent": lambda fields: fields.request.user_agent or "-",  # nginx logs `-` for none
    "evt.Meta.http_user_agent": lambda fields: fields.request.user_agent or "-",
    "evt.Parsed.http_referer": lambda fields: fields.request.referer or "-",
    "evt.Parsed.http_version": lambda fields: fields.request.protocol.removeprefix("HTTP/"),
}
# The same on every access-log line: folded into the filter when it is compiled.
CONSTANT_FIELDS = {
    "evt.Meta.log_type": "http_access-log",
    "evt.Meta.service": "http",
    "evt.Parsed.rawrequest": "",  # set only for a line whose request does not parse
}
# Fields other parsers set (error logs, other products): never on an access-log line.
NOT_ON_ACCESS_LOGS = {
    "evt.Meta.sub_type": "set by error-log parsers (auth failures), not on an access-log line",
    "evt.Meta.security_action": "set by the open-appsec parser, not on an access-log line",
    "evt.Meta.incident_type": "set by the open-appsec parser, not on an access-log line",
    "evt.Parsed.target_fqdn": "the virtual host is not in secmon's events",
}


# --- expr: the subset the hub's HTTP scenarios use, compiled to closures (never Python's eval) ------


class ExprError(Exception):
    """A filter secmon cannot evaluate over an access-log line; the message says why."""


EXPR_TOKEN = re.compile(
    r"""\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<number>\d+(?:\.\d+)?)"""
    r"""|(?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!()\[\],;?:{}=#])|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))"""
)
EXPR_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}
ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{3}|.)", re.DOTALL)


def unquote_expr_string(text: str) -> str:
    """An expr string literal's value (Go-style escapes, as expr's unescape reads them)."""

    def one(escape: re.Match) -> str:
        code = escape[1]
        if code[0] in "xuU" and len(code) > 1:
            return chr(int(code[1:], 16))
        if code.isdigit() and len(code) == 3:
            return chr(int(code, 8))
        if code in EXPR_ESCAPES:
            return EXPR_ESCAPES[code]
        raise ExprError(f"expr: unknown escape \\{code}")

    return ESCAPE.sub(one, text[1:-1])


def expr_tokens(text: str) -> list[tuple[str, object]]:
    tokens: list[tuple[str, object]] = []
    position, text = 0, text.strip()
    while position < len(text):
        found = EXPR_TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise ExprError(f"expr: cannot read {text[position : position + 20]!r}")
        kind = found.lastgroup
        value: object = found[kind]
        if kind == "string":
            value = unquote_expr_string(found[kind])
        elif kind == "number":
            value = float(value) if "." in value else int(value)
        tokens.append((kind, value))
        position = found.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


# A compiled expression: env -> value, env = (fields, let-bindings). CONSTANT marks a folded one.
Env = tuple[HttpLogFields, dict]
Compiled = Callable[[Env], object]


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ExprError(f"expr: {type(value).__name__} where a string is needed")
    return value


def _go_unescape(value: object, plus_is_space: bool) -> str:
    # CrowdSec's PathUnescape/QueryUnescape helpers return the string unchanged when Go cannot unescape it.
    text = _string(value)
    unescaped = unescape_strict(text, plus_is_space)
    return text if unescaped is None else unescaped


def _go_int(value: object) -> int:
    if isinstance(value, bool):
        raise ExprError("expr: int() of a boolean")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    raise ExprError(f"expr: int() of {value!r}")


def _length(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    if isinstance(value, list):
        return len(value)
    raise ExprError("expr: len() of neither a string nor a list")


FUNCTIONS: dict[str, Callable[[object], object]] = {
    "Upper": lambda value: _string(value).upper(),
    "Lower": lambda value: _string(value).lower(),
    "PathUnescape": lambda value: _go_unescape(value, plus_is_space=False),
    "QueryUnescape": lambda value: _go_unescape(value, plus_is_space=True),
    "len": _length,
    "int": _go_int,
}


@lru_cache(maxsize=256)
def go_regex(pattern: str) -> re2._Regexp:
    """A Go regexp (`matches`): RE2 syntax, unanchored search."""
    try:
        return re2.compile(pattern)
    except re2.error as exc:
        raise ExprError(f"expr: regex {pattern[:40]!r} does not compile: {exc}") from None


def _ordered(operator: str) -> Callable[[object, object], bool]:
    def compare(left: object, right: object) -> bool:
        numbers = all(isinstance(side, int | float) and not isinstance(side, bool) for side in (left, right))
        if not numbers and not (isinstance(left, str) and isinstance(right, str)):
            raise ExprError(f"expr: {operator} between {type(left).__name__} and {type(right).__name__}")
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator]

    return compare


def _member(left: object, right: object) -> bool:
    if not isinstance(right, list):
        raise ExprError("expr: `in` needs a list")
    return left in right


def _plus(left: object, right: object) -> object:
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    if all(isinstance(side, int | float) for side in (left, right)):
        return left + right
    raise ExprError("expr: + of a string and a number")


BINARY: dict[str, Callable[[object, object], object]] = {
    "==": lambda left, right: left == right,
    "!=": lambda left, right: left != right,
    "<": _ordered("<"),
    ">": _ordered(">"),
    "<=": _ordered("<="),
    ">=": _ordered(">="),
    "in": _member,
    "not in": lambda left, right: not _member(left, right),
    "matches": lambda left, right: go_regex(_string(right)).search(safe_text(_string(left))) is not None,
    "contains": lambda left, right: _string(right) in _string(left),
    "startsWith": lambda left, right: _string(left).startswith(_string(right)),
    "endsWith": lambda left, right: _string(left).endswith(_string(right)),
    "+": _plus,
}
# expr's precedence: or 10, and 15, comparisons 20, + 30; unary not/! 50 (binds tighter than ==).
COMPARISONS = ("==", "!=", "<", ">", "<=", ">=", "in", "not in", "matches", "contains", "startsWith", "endsWith")


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"expr: {type(value).__name__} where a boolean is needed")
    return value


@dataclass(frozen=True)
class Expr:
    """A compiled expression; `constant` when it reads no field (folded at compile time)."""

    run: Compiled
    constant: bool = False
    key: str | None = None  # a field, or a function of one: its value is shared by every filter
    # A necessary condition: the expression holds only if one of these (keyed expression, RE2 pattern) matches.
    needs: Needs | None = None

    @classmethod
    def of(cls, value: object) -> Expr:
        return cls(lambda _env: value, constant=True)

    def fold(self) -> Expr:
        return Expr.of(self.run((None, {}))) if self.constant else self


Needs = tuple[tuple["Expr", str], ...]


def _needs_of(parts: list[Expr], join: Callable) -> Needs | None:
    """`and`: the narrowest part's needs (not the verb or status, which most requests share); `or`: all of them."""
    if join is any:
        return None if any(part.needs is None for part in parts) else tuple(n for part in parts for n in part.needs)
    known = [part.needs for part in parts if part.needs is not None]
    return min(known, key=lambda needs: (any(BROAD_KEY.search(key.key) for key, _ in needs), len(needs)), default=None)


BROAD_KEY = re.compile(r"verb|status|log_type|service")
# Comparisons with a constant string on the right that hold only where an RE2 pattern matches the left side.
NEEDING = {
    "contains": lambda text: re2.escape(text),
    "startsWith": lambda text: rf"\A{re2.escape(text)}",
    "endsWith": lambda text: rf"{re2.escape(text)}\z",
    "==": lambda text: rf"\A{re2.escape(text)}\z",
    "matches": lambda text: text,
}


def _comparison_needs(operator: str, left: Expr, right: Expr) -> Needs | None:
    if left.key is None or not right.constant:
        return None
    value = right.run((None, {}))
    if operator == "in" and isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return ((left, rf"\A(?:{'|'.join(re2.escape(item) for item in value)})\z"),)
    if operator not in NEEDING or not isinstance(value, str) or safe_text(value) != value:
        return None
    pattern = NEEDING[operator](value)
    try:
        re2.compile(pattern)
    except re2.error:
        return None  # a regex that does not compile fails the filter at run time: no prefilter to build
    return ((left, pattern),)


def _joined(parts: list[Expr], join: Callable) -> Expr:
    """`or` (any) / `and` (all) of parts, with the parts constant over access logs folded away."""
    if len(parts) == 1:
        return parts[0]
    neutral = join is all  # true for `and`, false for `or`
    if any(part.constant and part.run((None, {})) is not neutral for part in parts):
        if all(part.constant for part in parts):
            return Expr(lambda env: join(_boolean(part.run(env)) for part in parts), constant=True).fold()
    parts = [part for part in parts if not (part.constant and part.run((None, {})) is neutral)] or [Expr.of(neutral)]
    if len(parts) == 1:
        return parts[0]
    return Expr(lambda env: join(_boolean(part.run(env)) for part in parts), needs=_needs_of(parts, join))


class ExprCompiler:
    """A recursive-descent parser of the expr subset, producing closures (never Python's eval)."""

    def __init__(self, text: str) -> None:
        self.tokens, self.position = expr_tokens(text), 0
        self.bound: set[str] = set()

    def compile(self) -> Expr:
        expression = self.expression()
        if self.peek() is not None:
            raise ExprError(f"expr: unexpected {self.peek()[1]!r}")
        return expression

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token[0] in ("op", "name") and token[1] in values

    def take(self, expected: str | None = None) -> tuple[str, object]:
        token = self.peek()
        if token is None or (expected is not None and token[1] != expected):
            raise ExprError(f"expr: expected {expected or 'more'}, found {token[1] if token else 'the end'!r}")
        self.position += 1
        return token

    def expression(self) -> Expr:
        if self.at("let"):
            self.take()
            kind, name = self.take()
            if kind != "name":
                raise ExprError("expr: let needs a name")
            self.take("=")
            value = self.expression()
            self.take(";")
            self.bound.add(str(name))
            body = self.expression()
            return Expr(lambda env: body.run((env[0], {**env[1], name: value.run(env)})))
        return self.ternary()

    def ternary(self) -> Expr:
        condition = self.disjunction()
        if not self.at("?"):
            return condition
        self.take()
        then = self.expression()
        self.take(":")
        otherwise = self.expression()
        return Expr(lambda env: then.run(env) if _boolean(condition.run(env)) else otherwise.run(env))

    def disjunction(self) -> Expr:
        parts = [self.conjunction()]
        while self.at("or", "||"):
            self.take()
            parts.append(self.conjunction())
        return _joined(parts, any)

    def conjunction(self) -> Expr:
        parts = [self.comparison()]
        while self.at("and", "&&"):
            self.take()
            parts.append(self.comparison())
        return _joined(parts, all)

    def comparison(self) -> Expr:
        left = self.additive()
        while self.at(*COMPARISONS, "not"):
            operator = str(self.take()[1])
            if operator == "not":
                self.take("in")
                operator = "not in"
            right = self.additive()
            needs = _comparison_needs(operator, left, right)
            left = self.binary(BINARY[operator], left, right)
            if needs is not None and not left.constant:
                left = Expr(left.run, needs=needs)
        return left

    def additive(self) -> Expr:
        left = self.unary()
        while self.at("+"):
            self.take()
            left = self.binary(BINARY["+"], left, self.unary())
        return left

    @staticmethod
    def binary(operator: Callable[[object, object], object], left: Expr, right: Expr) -> Expr:
        return Expr(lambda env: operator(left.run(env), right.run(env)), left.constant and right.constant).fold()

    def unary(self) -> Expr:
        if self.at("not", "!"):
            self.take()
            operand = self.unary()
            return Expr(lambda env: not _boolean(operand.run(env)), operand.constant).fold()
        if self.at("-"):
            self.take()
            operand = self.unary()
            return Expr(lambda env: -_go_int(operand.run(env)), operand.constant).fold()
        return self.primary()

    def primary(self) -> Expr:
        kind, value = self.take()
        if kind in ("string", "number"):
            return Expr.of(value)
        if value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if value == "[":
            return self.list_literal()
        if kind == "name" and value in ("nil", "true", "false"):
            return Expr.of({"nil": None, "true": True, "false": False}[value])
        if kind == "name" and value == "if":
            return self.if_else()
        if kind == "name" and self.at("("):
            return self.call(str(value))
        if kind == "name":
            return self.name(str(value))
        raise ExprError(f"expr: unexpected {value!r}")

    def list_literal(self) -> Expr:
        items = []
        while not self.at("]"):
            items.append(self.expression())
            if not self.at("]"):
                self.take(",")
        self.take("]")
        if all(item.constant for item in items):
            return Expr.of([item.run((None, {})) for item in items])
        return Expr(lambda env: [item.run(env) for item in items])

    def if_else(self) -> Expr:
        condition = self.expression()
        self.take("{")
        then = self.expression()
        self.take("}")
        self.take("else")
        if self.at("if"):
            self.take()
            otherwise = self.if_else()
        else:
            self.take("{")
            otherwise = self.expression()
            self.take("}")
        return Expr(lambda env: then.run(env) if _boolean(condition.run(env)) else otherwise.run(env))

    def call(self, name: str) -> Expr:
        if name not in FUNCTIONS:
            raise ExprError(f"expr: {name}() (a data file, a side effect or a helper secmon does not evaluate)")
        self.take("(")
        argument = self.expression()
        self.take(")")
        function = FUNCTIONS[name]
        if argument.key is None:
            return Expr(lambda env: function(argument.run(env)), argument.constant).fold()
        # A function of a field (Upper(evt.Meta.http_path)) is computed once per request for all filters.
        key = f"{name}({argument.key})"

        def memoized(env: Env) -> object:
            memo = env[0].memo
            if key not in memo:
                memo[key] = function(argument.run(env))
            return memo[key]

        return Expr(memoized, key=key)

    def name(self, name: str) -> Expr:
        if name in self.bound:
            return Expr(lambda env: env[1][name])
        if name in NOT_ON_ACCESS_LOGS:
            raise ExprError(f"expr: {name} is {NOT_ON_ACCESS_LOGS[name]}")
        if name in CONSTANT_FIELDS:
            return Expr.of(CONSTANT_FIELDS[name])
        if name not in FIELDS:
            raise ExprError(f"expr: {name} is not derived from an access-log line")
        getter = FIELDS[name]
        return Expr(lambda env: getter(env[0]), key=name)


class Filter:
    """A scenario's filter as a predicate; a filter that fails at run time (int('x')) does not hold,
    as in CrowdSec, which logs the error and does not pour the event. `needs`: see Expr."""

    def __init__(self, expression: Expr) -> None:
        self.expression, self.needs = expression, expression.needs

    def __call__(self, fields: HttpLogFields) -> bool:
        try:
            return self.expression.run((fields, {})) is True
        except (ExprError, TypeError, ValueError, re2.error):
            return False


def compile_filter(text: str) -> Filter:
    return Filter(ExprCompiler(" ".join(str(text).split())).compile())


class FilterIndex:
    """Which filters may hold on a request: the patterns each filter needs (Expr.needs), one re2.Set per
    field (or function of one) they read, so that a request is scanned once per field rather than every
    filter being run; a filter none of whose needs matched cannot hold and is not run."""

    def __init__(self, filters: Iterable[Filter]) -> None:
        patterns: dict[str, tuple[Expr, list[str]]] = {}
        self.wanted: list[frozenset[tuple[str, int]] | None] = []
        for one in filters:
            alternatives = set()
            for expression, pattern in one.needs or ():
                listed = patterns.setdefault(expression.key, (expression, []))[1]
                if pattern not in listed:
                    listed.append(pattern)
                alternatives.add((expression.key, listed.index(pattern)))
            self.wanted.append(frozenset(alternatives) if one.needs is not None else None)
        self.sets: list[tuple[str, Expr, re2.Set]] = []
        for key, (expression, listed) in patterns.items():
            regex_set = re2.Set.SearchSet(re2.Options())
            for pattern in listed:
                regex_set.Add(pattern)
            regex_set.Compile()
            self.sets.append((key, expression, regex_set))

    def may_hold(self, fields: HttpLogFields) -> list[bool]:
        hits: set[tuple[str, int]] = set()
        for key, expression, regex_set in self.sets:
            try:
                value = expression.run((fields, {}))
            except (ExprError, TypeError, ValueError):
                continue  # the comparisons on it fail too
            if isinstance(value, str):
                hits.update((key, index) for index in regex_set.Match(safe_text(value)) or ())
        return [wanted is None or not wanted.isdisjoint(hits) for wanted in self.wanted]


# --- the hub's rules, loaded ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """A leaky scenario as SQL counts it: per source IP, it overflows past `capacity` requests, one
    leaking every `leak_seconds`; with `distinct_field`, a request whose value the bucket already
    holds is not poured. distinct_field is an event column (`url`, `user_agent`, `status_code`,
    `http_method`) or a field derived from `url`: `http_path` (up to its last `?`, CrowdSec's
    evt.Parsed.request), `http_args` (after its last `?`, or ''), `file_name` (the path's last segment)."""

    name: str
    capacity: int
    leak_seconds: float
    distinct_field: str | None = None


# CrowdSec field -> the column or derived field that a bucket's `distinct` names.
DISTINCT_FIELDS = {
    "evt.Meta.http_path": "url",
    "evt.Parsed.request": "http_path",
    "evt.Parsed.http_args": "http_args",
    "evt.Parsed.file_name": "file_name",
    "evt.Parsed.http_user_agent": "user_agent",
    "evt.Meta.http_user_agent": "user_agent",
    "evt.Meta.http_status": "status_code",
    "evt.Meta.http_verb": "http_method",
    "evt.Parsed.verb": "http_method",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    holds: Filter
    tag: str


class CrowdsecRules:
    """The imported hub: `match(request)` gives the tags of every rule and scenario that fires."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.appsec = AppsecEngine(data["appsec"])
        self.scenarios = tuple(
            Scenario(
                entry["name"],
                compile_filter(entry["filter"]),
                tag(BUCKET if entry.get("bucket") else CROWDSEC, entry["name"]),
            )
            for entry in data["scenarios"]
        )
        self.filter_index = FilterIndex(scenario.holds for scenario in self.scenarios)
        self.names = tuple(entry["name"] for entry in data["appsec"]) + tuple(s.name for s in self.scenarios)
        self.buckets = tuple(
            Bucket(entry["name"], **entry["bucket"]) for entry in data["scenarios"] if entry.get("bucket")
        )
        self._descriptions = {entry["name"]: entry for entry in (*data["appsec"], *data["scenarios"])}

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> CrowdsecRules:
        return cls(json.loads(path.read_text()))

    def match(self, request: Request) -> frozenset[str]:
        return self.appsec_tags(request) | self.scenario_tags(request)

    def appsec_tags(self, request: Request) -> frozenset[str]:
        """The AppSec and virtual-patching rules': they read the request, never its status."""
        return frozenset(tag(CROWDSEC, name) for name in self.appsec.match(CorazaView(request)))

    def scenario_tags(self, request: Request) -> frozenset[str]:
        """The scenarios' filters: they may read the status too."""
        fields = HttpLogFields(request)
        may_hold = self.filter_index.may_hold(fields)
        return frozenset(
            scenario.tag for scenario, maybe in zip(self.scenarios, may_hold) if maybe and scenario.holds(fields)
        )

    def match_reference(self, request: Request) -> frozenset[str]:
        """`match` with every scenario's filter run (no FilterIndex): what the tests hold `match` to."""
        tags = {tag(CROWDSEC, name) for name in self.appsec.match(CorazaView(request))}
        fields = HttpLogFields(request)
        tags.update(scenario.tag for scenario in self.scenarios if scenario.holds(fields))
        return frozenset(tags)

    def describe(self, name: str) -> str:
        """The rule's description, with its CVE when it has one (for alert text)."""
        entry = self._descriptions[name]
        description = " ".join(str(entry.get("description") or name).split())
        return (
            f"{description} ({entry['cve']})" if entry.get("cve") and entry["cve"] not in description else description
        )


@lru_cache(maxsize=1)
def shipped_rules() -> CrowdsecRules:
    """The vendored hub, loaded once per process."""
    return CrowdsecRules.load()


def buckets() -> list[Bucket]:
    """Every leaky scenario of the vendored hub, for the SQL that windows them."""
    return list(shipped_rules().buckets)
