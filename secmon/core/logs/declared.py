"""Formats declared in the server's own syntax, compiled into a parser.

- nginx: the `log_format` line of nginx.conf as it is (`log_format main escape=json '$remote_addr …';`)
  or only its format string. `$variables` (and `${variables}`), `escape=default|json|none`.
- Apache: the `LogFormat` line (`LogFormat "%h %l %u %t \\"%r\\" %>s %b" combined`) or only its
  string. `%h %a %l %u %t %r %m %U %q %>s %b %D %T %v %{Header}i …`, with Apache's modifiers.

A format becomes one regular expression: each variable a group, each piece of text between them
literal. A variable's pattern follows from what surrounds it: inside double quotes, anything but an
unescaped quote; before a `]`, anything but `]`; else anything up to the next piece of text.
Variables secmon does not use are matched and skipped. Values are unescaped as the server escaped
them (nginx: `\\xHH`, or JSON's escapes; Apache: `\\"`, `\\\\`, `\\xhh`, `\\n`, `\\t`).

A line that does not match is explained: the first variable or text that fails, and its column.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Callable

from secmon.core.events import Event
from secmon.core.logs.fields import (
    Fields,
    MalformedLine,
    Networks,
    clf_time_ms,
    iso_time_ms,
    seconds_ms,
    unit_ms,
)

QUOTED = r'[^"\\]*(?:\\.[^"\\]*)*'  # anything but an unescaped quote, as an unrolled loop (3x faster)


@dataclass(frozen=True)
class Role:
    """What a variable means to secmon: which field it fills, from text already unescaped."""

    field: str  # a Fields attribute, or "path"/"query" (joined into the URL), or "" to skip
    convert: Callable[[str], object] = str
    pattern: str | None = None  # the variable's own pattern, where its values have a fixed shape


def _epoch_ms(per_second: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            return round(float(text) * 1000 / per_second)
        except ValueError:
            raise MalformedLine(f"bad time {text[:30]!r}") from None

    return convert


SKIP = Role("")
PATH = r'[^?\s"]*'  # a path ends where its query string starts
# The exact shape, so that a field before it that may hold spaces (the user) ends where the time starts,
# and trying each place costs a few characters: a field is never matched twice over.
CLF_TIME_PATTERN = r"\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
CLF_TIME = Role("time_ms", clf_time_ms, CLF_TIME_PATTERN)
# A user name may hold spaces (a Basic-auth user is the client's to choose) but never a raw quote: nginx
# writes `"` as \x22 and Apache as \". Unquoted, it runs to the first place where the rest of the line
# matches, which the exact time after it makes the real one.
USER = Role("user", str, r'[^"]*?')
STATUS = Role("status", str, r"\d{3}")

NGINX_ROLES = {
    "remote_addr": Role("peer"),
    "realip_remote_addr": Role("peer"),
    "remote_user": USER,
    "time_local": CLF_TIME,
    "time_iso8601": Role("time_ms", iso_time_ms),
    "msec": Role("time_ms", _epoch_ms(1)),
    "request": Role("request"),
    "request_method": Role("method"),
    "request_uri": Role("url"),
    "uri": Role("path", str, PATH),
    "document_uri": Role("path", str, PATH),
    "args": Role("query"),
    "query_string": Role("query"),
    "status": STATUS,
    "request_time": Role("response_ms", seconds_ms),
    "http_referer": Role("referrer"),
    "http_user_agent": Role("agent"),
    "http_x_forwarded_for": Role("forwarded_for"),
}

APACHE_ROLES = {
    "h": Role("peer"),
    "a": Role("peer"),
    "u": USER,
    "t": CLF_TIME,
    "r": Role("request"),
    "m": Role("method"),
    "U": Role("path", str, PATH),
    "q": Role("query", str, r'(?:\?[^\s"]*)?'),
    "s": STATUS,
    "D": Role("response_ms", lambda text: unit_ms(text, 1000)),
    "T": Role("response_ms", lambda text: unit_ms(text, 0.001)),
    "i:referer": Role("referrer"),
    "i:user-agent": Role("agent"),
    "i:x-forwarded-for": Role("forwarded_for"),
    "t:sec": Role("time_ms", _epoch_ms(1)),
    "t:msec": Role("time_ms", _epoch_ms(1000)),
    "t:usec": Role("time_ms", _epoch_ms(1_000_000)),
    "T:ms": Role("response_ms", lambda text: unit_ms(text, 1)),
    "T:us": Role("response_ms", lambda text: unit_ms(text, 1000)),
    "T:s": Role("response_ms", lambda text: unit_ms(text, 0.001)),
}

_NGINX_HEX = re.compile(r"\\x([0-9A-Fa-f]{2})")
_APACHE_ESCAPE = re.compile(r'\\(x[0-9A-Fa-f]{2}|["\\ntr])')
_APACHE_CHARS = {'"': b'"', "\\": b"\\", "n": b"\n", "t": b"\t", "r": b"\r"}


def _bytes_to_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def unescape_nginx(text: str) -> str:
    if "\\x" not in text:
        return text
    return _bytes_to_text(_NGINX_HEX.sub(lambda m: chr(int(m[1], 16)), text).encode("latin-1", errors="replace"))


def unescape_json(text: str) -> str:
    if "\\" not in text:
        return text
    try:
        return json.loads(f'"{text}"')
    except json.JSONDecodeError:
        raise MalformedLine(f"bad JSON escape in {text[:40]!r}") from None


def unescape_apache(text: str) -> str:
    if "\\" not in text:
        return text

    def byte(match: re.Match) -> bytes:
        code = match[1]
        return bytes([int(code[1:], 16)]) if code[0] == "x" else _APACHE_CHARS[code]

    pieces, last = [], 0
    for match in _APACHE_ESCAPE.finditer(text):
        pieces += [text[last : match.start()].encode("utf-8", errors="surrogateescape"), byte(match)]
        last = match.end()
    pieces.append(text[last:].encode("utf-8", errors="surrogateescape"))
    return _bytes_to_text(b"".join(pieces))


UNESCAPE = {"default": unescape_nginx, "json": unescape_json, "none": lambda text: text, "apache": unescape_apache}


@dataclass(frozen=True)
class Token:
    text: str  # the literal text, or the variable as written ($status, %>s)
    role: Role | None  # None for literal text


class DeclaredFormat:
    """A parser compiled from a declared format: `parse(line, trusted)` → Event, or MalformedLine."""

    def __init__(self, name: str, tokens: list[Token], unescape: str, source: str) -> None:
        self.name, self.source, self.tokens = name, source, tokens
        self._unescape = UNESCAPE[unescape]
        self._parts = [self._pattern(i) for i in range(len(tokens))]
        self._groups = [(f"v{i}", token.role) for i, token in enumerate(tokens) if token.role and token.role.field]
        if not {role.field for _, role in self._groups} & {"request", "url", "path"}:
            raise ValueError(f"format {name!r} records no request: add $request (nginx) or %r (Apache)")
        if not {role.field for _, role in self._groups} & {"status"}:
            raise ValueError(f"format {name!r} records no status: add $status (nginx) or %>s (Apache)")
        self._regex = re.compile("".join(self._parts))

    def _pattern(self, index: int) -> str:
        token = self.tokens[index]
        if token.role is None:
            return re.escape(token.text)
        before = self.tokens[index - 1].text if index > 0 and self.tokens[index - 1].role is None else ""
        after = self.tokens[index + 1].text if index + 1 < len(self.tokens) else ""
        following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
        quoted = before.endswith('"') and after.startswith('"')
        if token.role.pattern and not (quoted and token.role is USER):
            value = token.role.pattern
        elif quoted:
            value = QUOTED
        elif following is not None and following.role is None and after:
            value = f"[^{re.escape(after[0])}]*"
        elif following is None:
            value = r".*"  # the line's end (trailing white space is stripped before matching)
        else:  # with nothing between them, two free variables could split their text in many ways
            raise ValueError(
                f"format {self.name!r}: {token.text} and {following.text} have nothing between them, so their "
                "values cannot be told apart: put a separator between them"
            )
        if token.role.field:
            return f"(?P<v{index}>{value})"
        return f"(?:{value})"

    def parse(self, line: str, trusted: Networks = ()) -> Event:
        line = line.rstrip()
        match = self._regex.fullmatch(line)
        if match is None:
            raise MalformedLine(self.explain(line))
        fields, path, query = Fields(), None, None
        unescape = self._unescape
        for group, role in self._groups:
            text = match[group]
            if text == "-" and role.field not in ("status",):
                continue
            value = role.convert(unescape(text))
            if role.field == "path":
                path = value
            elif role.field == "query":
                query = value.lstrip("?")
            else:
                setattr(fields, role.field, value)
        if path is not None and fields.url is None:
            fields.url = path + (f"?{query}" if query else "")
        return fields.event(trusted)

    def explain(self, line: str) -> str:
        """Why `line` does not match: the first piece that fails, and where. Pieces are tried as growing
        prefixes of the whole pattern, so that a field that runs to what follows it (the user) ends there."""
        position = 0
        for index, token in enumerate(self.tokens):
            found = re.compile("".join(self._parts[: index + 1])).match(line)
            if found is None:
                what = f"{token.text}" if token.role else f"text {token.text!r}"
                return f"{what} at column {position + 1}: found {line[position:position + 30]!r}"
            position = found.end()
        return f"unexpected text at column {position + 1}: {line[position:position + 30]!r}"


_NGINX_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_APACHE_DIRECTIVE = re.compile(r"%(?:[<>]|!?[0-9,]+)*(?:\{([^}]*)\})?([a-zA-Z%])")


def _literal_pieces(text: str, pattern: re.Pattern, role_of: Callable[[re.Match], Token]) -> list[Token]:
    tokens, last = [], 0
    for match in pattern.finditer(text):
        if match.start() > last:
            tokens.append(Token(text[last : match.start()], None))
        tokens.append(role_of(match))
        last = match.end()
    if last < len(text):
        tokens.append(Token(text[last:], None))
    return tokens


def compile_nginx(text: str, name: str = "nginx") -> DeclaredFormat:
    """nginx's `log_format` (the whole line, or its format string) → a parser."""
    stripped = text.strip()
    escape = "default"
    if stripped.startswith("log_format "):
        try:
            words = shlex.split(stripped.rstrip().rstrip(";"), posix=True)
        except ValueError as exc:
            raise ValueError(f"log_format: {exc}") from None
        if len(words) < 3:
            raise ValueError("log_format needs a name and a format string")
        name, rest = words[1], words[2:]
        if rest[0].startswith("escape="):
            escape = rest.pop(0).split("=", 1)[1]
            if escape not in ("default", "json", "none"):
                raise ValueError(f"log_format: escape={escape} is not default, json or none")
        fmt = "".join(rest)
    else:
        fmt = stripped.strip("'")

    def token(match: re.Match) -> Token:
        variable = match[1] or match[2]
        return Token(f"${variable}", NGINX_ROLES.get(variable, SKIP))

    return DeclaredFormat(name, _literal_pieces(fmt, _NGINX_VARIABLE, token), escape, text)


def compile_apache(text: str, name: str = "apache") -> DeclaredFormat:
    """Apache's `LogFormat` (the whole line, or its format string) → a parser."""
    stripped = text.strip()
    if stripped.startswith("LogFormat "):
        try:
            words = shlex.split(stripped, posix=True)
        except ValueError as exc:
            raise ValueError(f"LogFormat: {exc}") from None
        if len(words) < 2:
            raise ValueError("LogFormat needs a format string")
        fmt = words[1]
        name = words[2] if len(words) > 2 else name
    else:
        fmt = stripped[1:-1].replace('\\"', '"') if stripped.startswith('"') and stripped.endswith('"') else stripped

    def token(match: re.Match) -> Token:
        argument, letter = match[1], match[2]
        if letter == "%":
            return Token("%", None)
        key = f"{letter}:{argument.lower()}" if argument is not None and letter in "iT" else letter
        key = f"t:{argument}" if letter == "t" and argument else key
        return Token(match[0], APACHE_ROLES.get(key, SKIP))

    tokens = _literal_pieces(fmt, _APACHE_DIRECTIVE, token)
    # Apache writes %t as `[10/Oct/2000:13:55:36 -0700]`: the brackets are part of the value.
    expanded = []
    for item in tokens:
        if item.role is CLF_TIME and item.text.endswith("t") and "{" not in item.text:
            expanded += [Token("[", None), item, Token("]", None)]
        else:
            expanded.append(item)
    return DeclaredFormat(name, _merge_literals(expanded), "apache", text)


def _merge_literals(tokens: list[Token]) -> list[Token]:
    merged: list[Token] = []
    for token in tokens:
        if token.role is None and merged and merged[-1].role is None:
            merged[-1] = Token(merged[-1].text + token.text, None)
        else:
            merged.append(token)
    return merged


COMPILERS = {"nginx": compile_nginx, "apache": compile_apache}


def compile_declared(text: str, name: str | None = None) -> DeclaredFormat:
    """A format in either server's syntax: its directive names it (`log_format`, `LogFormat`); a bare format
    string is nginx's when it names `$variables` and has no `%` directive, else Apache's."""
    stripped = text.strip()
    if stripped.startswith("log_format "):
        syntax = "nginx"
    elif stripped.startswith("LogFormat "):
        syntax = "apache"
    else:
        syntax = "nginx" if "$" in text and not re.search(r"%[>{a-zA-Z]", text) else "apache"
    return COMPILERS[syntax](text, name or syntax)
