"""OWASP CRS v4 request rules, evaluated on what an access log shows of a request.

The rules are data: the vendored `owasp-crs/rules/REQUEST-9*.conf` are parsed here (the SecRule
language: variables, operator, actions, `chain`, the paranoia-level skip blocks) and every rule
whose variables an access log has is kept; the others are listed with the reason in
`crs.report.txt` (`python -m secmon.core.classify.crs` rewrites it).

Variables, as ModSecurity 2.9 (Apache) fills them (apache2/re_variables.c):
- REQUEST_URI is `parsed_uri.path + "?" + parsed_uri.query`, REQUEST_URI_RAW is `unparsed_uri`,
  REQUEST_FILENAME is `parsed_uri.path` and REQUEST_BASENAME its last segment: all as sent, not
  percent-decoded (Apache's parsed_uri is the raw request target split, not `r->uri`).
- QUERY_STRING is `r->args`, raw. ARGS/ARGS_NAMES come from parse_arguments over the query string:
  split on `&`, name and value each decoded with urldecode_nonstrict (`+` is a space, a bad `%` kept).
- REQUEST_LINE is `r->the_request`; REQUEST_HEADERS:User-Agent/Referer are the logged headers.
Values are bytes held as latin-1 text (see transforms.py); regexes run in RE2's Latin-1 mode with
`.` matching newlines, like ModSecurity's PCRE (PCRE_DOTALL | PCRE_DOLLAR_ENDONLY, no UTF-8 mode).

The multi-pattern engine: the first links of the rules (`@rx`, `@pm`) are grouped by transformation
chain, and all their patterns form one hyperscan database. A value is scanned once per distinct
string its groups' chains make of it (a chain whose marks the value lacks leaves it as it is, see
transforms.UNCHANGED_WITHOUT: most values are scanned once), and a hit counts for the groups that made
that string; the rules whose pattern fired are then confirmed by their own RE2 regex and chain. Hyperscan
was chosen over google-re2's Set after measuring both on that one database of the 109 PL1 patterns
(2,000 URLs of the benign corpus, same run): hyperscan 2.8 µs a URL, re2.Set 103 µs, more than
running each pattern alone (89 µs): RE2's Set does not stay in its DFA on CRS's large regexes.
Hyperscan, like RE2, never backtracks. It refuses a few patterns (5 of 109 at PL1: too large); their
rules run on their own, in RE2's Latin-1 mode, which reads bytes as ModSecurity's PCRE does. The
database takes ~2 s to compile, so it is kept, serialized, in the user's cache (`HyperscanScanner`).
Transformed values, scans and operator verdicts are memoized per request and, for the shared rule
sets of `CrsRuleSet.load`, across requests (Memo).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hyperscan
import libinjection
import re2

from secmon.core.classify import transforms
from secmon.core.classify.request import Request

RULES_DIR = Path(__file__).parent / "owasp-crs" / "rules"
REPORT_PATH = Path(__file__).parent / "crs.report.txt"
DEFAULT_PARANOIA = 1

# The family of a rule, by its file (the id's first three digits), with the exceptions by id.
FAMILY_BY_FILE = {
    "911": "method",
    "913": "scanner",
    "920": "protocol",
    "921": "crlf",
    "930": "path_traversal",
    "931": "rfi",
    "932": "command_injection",
    "933": "php",
    "934": "generic",
    "941": "xss",
    "942": "sqli",
    "943": "session_fixation",
    "944": "java",
}
FAMILY_BY_ID = {"921200": "ldap", "934100": "node", "934101": "node", "934130": "node", "934110": "ssrf"}

# What an access log shows. REQUEST_HEADERS is only its User-Agent and Referer.
LOGGED_COLLECTIONS = frozenset(
    {
        "REQUEST_URI",
        "REQUEST_URI_RAW",
        "REQUEST_FILENAME",
        "REQUEST_BASENAME",
        "ARGS",
        "ARGS_GET",
        "ARGS_NAMES",
        "ARGS_GET_NAMES",
        "QUERY_STRING",
        "REQUEST_LINE",
        "REQUEST_METHOD",
        "REQUEST_PROTOCOL",
    }
)
# Without a body, the GET arguments are all the arguments: one collection, evaluated once.
SAME_IN_A_LOG = {"ARGS_GET": "ARGS", "ARGS_GET_NAMES": "ARGS_NAMES"}
# Arguments read from a query string: past these, the rest is not examined (ModSecurity has SecArgumentsLimit
# for the same reason). It bounds the cost of a request; CRS's own 920380 counts arguments to flag floods.
MAX_ARGUMENTS = 64
LOGGED_HEADERS = {"user-agent": "User-Agent", "referer": "Referer"}
# Set by the previous link of a chain (rule-local): what it matched, its captures and its setvars.
CHAIN_COLLECTIONS = frozenset({"MATCHED_VAR", "MATCHED_VARS", "MATCHED_VAR_NAME", "MATCHED_VARS_NAMES"})
RULE_STATE_COLLECTIONS = CHAIN_COLLECTIONS | {"TX"}
NOT_EVALUATED_FILES = {"901": "initialisation (sets TX defaults)", "949": "anomaly-score evaluation"}
# Entries the shared rule sets (CrsRuleSet.load) keep across requests: memory stays in the tens of MB.
MEMO_LIMIT = 100_000
# A @pm's phrases are scanned in patterns of at most this many characters (hyperscan refuses a 16 kB one).
PHRASES_PER_PATTERN = 4000
# Compiled hyperscan databases kept in the cache (5-11 MB each): one per paranoia level, and a few more.
CACHED_DATABASES = 6
MAX_VALUE = 16_384  # bytes of a value the rules see: a longer one is cut (the cost stays bounded)

PHRASE_OPERATORS = ("pm", "pmfromfile", "pmf")

RE2_OPTIONS = re2.Options()
RE2_OPTIONS.encoding = re2.Options.Encoding.LATIN1
RE2_OPTIONS.dot_nl = True
RE2_OPTIONS.max_mem = 256 << 20
RE2_OPTIONS.log_errors = False


class Unsupported(Exception):
    """A rule this engine does not load; the message is the reason in the report."""


@dataclass(frozen=True)
class Target:
    collection: str
    key: str | None = None  # a name, or a /regex/ over names
    exclude: bool = False
    count: bool = False

    def __str__(self) -> str:
        text = self.collection + (f":{self.key}" if self.key else "")
        return ("!" if self.exclude else "&" if self.count else "") + text

    @functools.cached_property
    def key_pattern(self) -> re.Pattern | None:
        if self.key and len(self.key) > 2 and self.key.startswith("/") and self.key.endswith("/"):
            return re.compile(self.key[1:-1], re.IGNORECASE | re.DOTALL)
        return None

    def selects(self, name: str) -> bool:
        """Whether this target (its key) names the member `name` of its collection."""
        if self.key is None:
            return True
        if self.key_pattern is not None:
            return self.key_pattern.search(name) is not None
        return self.key.lower() == name.lower()


@dataclass(frozen=True)
class Link:
    """One SecRule: the first of a rule, or one of its `chain` links."""

    targets: tuple[Target, ...]
    operator: str
    argument: str
    negated: bool
    transforms: tuple[str, ...]
    capture: bool
    setvars: tuple[tuple[str, str], ...]
    multi_match: bool = False  # the operator also runs before the chain and after each step that changed the value

    @functools.cached_property
    def transform(self) -> Callable[[str], str]:
        return transforms.chain(self.transforms)

    @functools.cached_property
    def stages(self) -> Callable[[str], tuple[str, ...]]:
        return transforms.stages(self.transforms)

    @functools.cached_property
    def unchanged_without(self) -> frozenset[str] | None:
        return transforms.unchanged_without(self.transforms)

    @functools.cached_property
    def collections(self) -> tuple[str, ...]:
        """The collections the link reads (its exclusions are applied member by member, by `reads`)."""
        return tuple(dict.fromkeys(t.collection for t in self.targets if not t.exclude))

    @functools.cached_property
    def test(self) -> Callable[[str], object]:
        """The operator over a transformed value; a dynamic one (see `rule_local_macros`) expands a placeholder."""
        argument = RULE_LOCAL_MACRO.sub("", self.argument) if self.rule_local_macros else self.argument
        return operator_function(self.operator, argument)

    @functools.cached_property
    def rule_local_macros(self) -> bool:
        """Whether the operator's argument reads what earlier links set (`%{TX.2}`): then it is built per evaluation."""
        return RULE_LOCAL_MACRO.search(self.argument) is not None

    def test_in(self, state: ChainState, value: str) -> Callable[[str], object]:
        if not self.rule_local_macros:
            return self.test
        return operator_function(self.operator, expand_local(self.argument, state, value))

    def reads(self, collection: str, name: str) -> bool:
        """Whether the link reads member `name` of `collection` (its targets, less its exclusions)."""
        chosen = False
        for target in self.targets:
            if target.collection != collection or not target.selects(name):
                continue
            if target.exclude:
                return False
            chosen = chosen or not target.count
        return chosen


@dataclass(frozen=True)
class Rule:
    id: str
    paranoia: int
    family: str
    message: str
    variables: tuple[str, ...]
    links: tuple[Link, ...] = field(repr=False)
    tags: tuple[str, ...] = ()
    # ctl:ruleRemoveTargetByTag=TAG;COLLECTION: when this rule matches, rules tagged TAG stop reading COLLECTION
    # for the rest of the request (941010 spares the XSS rules a REQUEST_FILENAME made of safe bytes only).
    switches_off: tuple[tuple[str, str], ...] = ()
    phase: int = 2  # 1 reads the path as sent, 2 as Apache decoded it (see request_variables)

    @functools.cached_property
    def one_link_on_values(self) -> bool:
        """One link that reads only the request's own values (no count, no placeholder). Its captures and setvars
        matter to no one: only a later link of the same rule reads them."""
        link = self.links[0]
        return (
            len(self.links) == 1
            and not link.rule_local_macros
            and all(not t.count and t.collection not in RULE_STATE_COLLECTIONS for t in link.targets)
        )


# ---------------------------------------------------------------- parsing the SecRule language


def directives(text: str) -> Iterator[list[str]]:
    """The configuration's directives, each as its words (continuations joined, quotes removed)."""
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        yield config_words(logical)
        logical = ""


def config_words(line: str) -> list[str]:
    """Apache's ap_getword_conf: words split on spaces; in a quoted word only `\\"` is unescaped."""
    words, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            break
        if line[i] in "\"'":
            quote, i, start = line[i], i + 1, i + 1
            chars = []
            while i < n and line[i] != quote:
                if line[i] == "\\" and i + 1 < n and line[i + 1] == quote:
                    i += 1
                chars.append(line[i])
                i += 1
            words.append("".join(chars))
            i += 1
        else:
            start = i
            while i < n and not line[i].isspace():
                i += 1
            words.append(line[start:i])
    return words


def parse_actions(text: str) -> list[tuple[str, str]]:
    """`id:1,t:none,msg:'a, b'` as (name, value) pairs, single quotes removed."""
    actions, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        start = i
        while i < n and text[i] not in ":,":
            i += 1
        name = text[start:i].strip()
        value = ""
        if i < n and text[i] == ":":
            i += 1
            while i < n and text[i] == " ":
                i += 1
            if i < n and text[i] == "'":
                end = i + 1
                while end < n and not (text[end] == "'" and text[end - 1] != "\\"):
                    end += 1
                value, i = text[i + 1 : end].replace("\\'", "'"), end + 1
            else:
                start = i
                while i < n and text[i] != ",":
                    i += 1
                value = text[start:i].strip()
        if name:
            actions.append((name, value))
    return actions


def parse_targets(text: str) -> tuple[Target, ...]:
    targets = []
    for part in split_targets(text):
        exclude, count = part.startswith("!"), part.startswith("&")
        part = part.lstrip("!&")
        collection, _, key = part.partition(":")
        collection = SAME_IN_A_LOG.get(collection.upper(), collection.upper())
        targets.append(Target(collection, key or None, exclude, count))
    return tuple(targets)


def split_targets(text: str) -> list[str]:
    """Split on `|`, but not inside a `/regex/` key (which may hold `|`)."""
    parts, current, in_regex = [], "", False
    for i, char in enumerate(text):
        if char == "/" and (current.endswith(":") or in_regex) and (i == 0 or text[i - 1] != "\\"):
            in_regex = not in_regex
        if char == "|" and not in_regex:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part]


def parse_link(words: list[str]) -> tuple[Link, list[tuple[str, str]]]:
    if len(words) < 3:
        raise Unsupported(f"malformed SecRule {' '.join(words)[:80]}")
    targets = parse_targets(words[1])
    operator_text = words[2]
    negated = operator_text.startswith("!")
    operator_text = operator_text.removeprefix("!")
    if operator_text.startswith("@"):
        operator, _, argument = operator_text[1:].partition(" ")
    else:
        operator, argument = "rx", operator_text
    actions = parse_actions(words[3]) if len(words) > 3 else []
    chain: list[str] = []
    for name, value in actions:
        if name == "t":
            chain = [] if value.lower() == "none" else [*chain, value.lower()]
    link = Link(
        targets=targets,
        operator=operator.lower(),
        argument=argument,
        negated=negated,
        transforms=tuple(chain),
        capture=any(name == "capture" for name, _ in actions),
        setvars=tuple(parse_setvar(value) for name, value in actions if name == "setvar"),
        multi_match=any(name == "multiMatch" for name, _ in actions),
    )
    return link, actions


def parse_setvar(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name.strip().lower(), value


@dataclass
class RawRule:
    """A rule as read from a file: its links and actions, before the engine decides to load it."""

    id: str
    links: list[Link]
    actions: list[tuple[str, str]]
    block_paranoia: int

    def action(self, name: str) -> str | None:
        return next((value for key, value in self.actions if key == name), None)

    @property
    def phase(self) -> int:
        return 1 if self.action("phase") in ("1", "request_headers") else 2

    @property
    def paranoia(self) -> int:
        for key, value in self.actions:
            if key == "tag" and value.startswith("paranoia-level/"):
                return int(value.rsplit("/", 1)[1])
        return self.block_paranoia


def read_rules(paths: Iterable[Path]) -> Iterator[RawRule]:
    """Every SecRule (with its chain links) and SecAction in the files, in order."""
    for path in paths:
        block_paranoia, current = 1, None
        for words in directives(path.read_text(encoding="latin-1")):
            if not words or words[0] not in ("SecRule", "SecAction"):
                continue
            if words[0] == "SecAction":
                words = ["SecRule", "REQUEST_METHOD", "@unconditionalMatch", words[1] if len(words) > 1 else ""]
            link, actions = parse_link(words)
            if current is not None:
                current.links.append(link)
                current.actions.extend(actions)
            else:
                rule_id = next((value for name, value in actions if name == "id"), "?")
                current = RawRule(rule_id, [link], list(actions), block_paranoia)
                level = skip_block_level(link)
                block_paranoia = level if level is not None else block_paranoia
            if not any(name == "chain" for name, _ in actions):
                yield current
                current = None


def skip_block_level(link: Link) -> int | None:
    """`SecRule TX:DETECTION_PARANOIA_LEVEL "@lt N" ... skipAfter`: the rules after it are level N."""
    if link.targets == (Target("TX", "DETECTION_PARANOIA_LEVEL"),) and link.operator == "lt":
        return int(link.argument)
    return None


# ---------------------------------------------------------------- operators


def tx_defaults(paths: Iterable[Path]) -> dict[str, str]:
    """The TX values CRS's initialisation sets when crs-setup.conf leaves them unset (901xxx setvars)."""
    values: dict[str, str] = {}
    for raw in read_rules(paths):
        for link in raw.links:
            for name, value in link.setvars:
                if name.startswith("tx.") and "%{" not in value:
                    values.setdefault(name[3:], value)
    return values


TX_DEFAULTS = tx_defaults([RULES_DIR / "REQUEST-901-INITIALIZATION.conf"])
MACRO = re.compile(r"%\{([^}]*)\}")
RULE_LOCAL_MACRO = re.compile(r"%\{(?:tx\.\d|matched_var)\}", re.IGNORECASE)


def expand_tx(text: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1).lower()
        if not name.startswith("tx.") or name[3:] not in TX_DEFAULTS:
            raise Unsupported(f"operator argument reads {match.group(0)}")
        return TX_DEFAULTS[name[3:]]

    return MACRO.sub(value, text)


def compile_rx(pattern: str) -> re2._Regexp:
    return re2.compile(pattern.encode("latin-1"), RE2_OPTIONS)


def phrase_pattern(phrases: Iterable[str]) -> str | None:
    """@pm as a regex: any phrase as a substring, case-insensitively (ModSecurity's Aho-Corasick lowercases
    both); None for no phrase (it never matches)."""
    # Longest first, then in byte order: the same pattern in every process (the database cache is keyed by it).
    alternatives = sorted({p for p in phrases if p}, key=lambda phrase: (-len(phrase), phrase))
    return "(?i)(?:" + "|".join(re2.escape(p) for p in alternatives) + ")" if alternatives else None


def phrases(operator: str, argument: str) -> list[str]:
    return argument.split() if operator == "pm" else [p for name in argument.split() for p in data_file(name)]


def phrase_matcher(words: Iterable[str]) -> Callable[[str], bool]:
    pattern = phrase_pattern(words)
    if pattern is None:
        return lambda value: False
    regex = compile_rx(pattern)
    return lambda value: regex.search(as_bytes(value)) is not None


@functools.cache
def data_file(name: str) -> tuple[str, ...]:
    lines = (RULES_DIR / name).read_text(encoding="latin-1").splitlines()  # bytes as latin-1, as values are
    return tuple(line.strip() for line in lines if line.strip() and not line.strip().startswith("#"))


def as_bytes(value: str) -> bytes:
    return value.encode("latin-1")


def to_int(text: str) -> int:
    """C's atoi: leading spaces, a sign, digits; 0 when none."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def byte_ranges(argument: str) -> frozenset[int]:
    allowed: set[int] = set()
    for part in argument.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        allowed.update(range(int(low), int(high or low) + 1))
    return frozenset(allowed)


def invalid_url_encoding(value: str) -> bool:
    """@validateUrlEncoding: a `%` not followed by two hex digits."""
    i = value.find("%")
    while i >= 0:
        if (
            i + 2 >= len(value) + 0
            or value[i + 1] not in transforms.HEX_DIGITS
            or value[i + 2] not in transforms.HEX_DIGITS
        ):
            return True
        i = value.find("%", i + 3)
    return False


def invalid_utf8(value: str) -> bool:
    try:
        as_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def operator_function(operator: str, argument: str) -> Callable[[str], object]:
    """The operator as a function of the (transformed) value; truthy when it matches."""
    argument = expand_tx(argument)
    if operator == "rx":
        regex = compile_rx(argument)
        return lambda value: regex.search(as_bytes(value))
    if operator in PHRASE_OPERATORS:
        return phrase_matcher(phrases(operator, argument))
    simple = simple_operator(operator, argument)
    if simple is None:
        raise Unsupported(f"operator @{operator}")
    return simple


def simple_operator(operator: str, argument: str) -> Callable[[str], object] | None:
    numbers = {"eq": int.__eq__, "gt": int.__gt__, "lt": int.__lt__, "ge": int.__ge__, "le": int.__le__}
    if operator in numbers:
        compare, expected = numbers[operator], to_int(argument)
        return lambda value: compare(to_int(value), expected)
    functions: dict[str, Callable[[str], object]] = {
        "detectsqli": lambda value: libinjection.is_sql_injection(value)["is_sqli"],
        "detectxss": lambda value: libinjection.is_xss(value)["is_xss"],
        "contains": lambda value: argument in value,
        "containsword": lambda value: re.search(rf"(?<!\w){re.escape(argument)}(?!\w)", value, re.ASCII) is not None,
        "streq": lambda value: value == argument,
        "beginswith": lambda value: value.startswith(argument),
        "endswith": lambda value: value.endswith(argument),
        "within": lambda value: value in argument,
        "unconditionalmatch": lambda value: True,
        "validateurlencoding": invalid_url_encoding,
        "validateutf8encoding": invalid_utf8,
    }
    if operator == "validatebyterange":
        outside = re.compile("[^" + "".join(re.escape(chr(code)) for code in sorted(byte_ranges(argument))) + "]")
        return lambda value: outside.search(value) is not None
    return functions.get(operator)


# ---------------------------------------------------------------- the request's variables


def parse_arguments(query: str) -> list[tuple[str, str]]:
    """ModSecurity's parse_arguments: `&`-split pairs, no trailing empty one, names and values url-decoded."""
    if not query:
        return []
    parts = query.split("&")
    if parts[-1] == "":
        parts.pop()
    pairs = []
    for part in parts:
        name, _, value = part.partition("=")
        pairs.append((transforms.url_decode(name), transforms.url_decode(value)))
    return pairs


def as_latin1(text: str) -> str:
    """A logged field as bytes held in latin-1 text (UTF-8 for characters beyond it), cut to MAX_VALUE."""
    if not text.isascii():
        text = text.encode("utf-8", "surrogateescape").decode("latin-1")
    return text[:MAX_VALUE]


def request_variables(request: Request) -> dict[int, dict[str, list[tuple[str, str]]]]:
    """Each collection an access log has, as (member name, value) pairs, for phase 1 and for phase 2.

    They differ in the path: ModSecurity's phase 1 runs when Apache has read the request (post_read_request),
    its phase 2 in fixups, after ap_process_request_internal normalised and decoded `parsed_uri.path` in
    place; so phase-2 rules read REQUEST_FILENAME, REQUEST_BASENAME and REQUEST_URI decoded (apache_path).
    """
    url = as_latin1(request.url)
    target, has_query, query = url.partition("?")
    # An absolute-form target (a proxy request: http://host/path): apr_uri_parse keeps the host apart from
    # parsed_uri.path, so REQUEST_FILENAME and REQUEST_URI never hold it; REQUEST_URI_RAW and REQUEST_LINE do.
    path = ABSOLUTE_FORM.sub("", target.split("#", 1)[0]) or "/"
    query = query.split("#", 1)[0]
    arguments = parse_arguments(query)[:MAX_ARGUMENTS]
    headers = [
        (name, as_latin1(value))
        for name, value in (("User-Agent", request.user_agent), ("Referer", request.referer))
        if value is not None
    ]
    phase_1 = {
        **path_variables(path, has_query + query),
        "REQUEST_URI_RAW": [("", url)],
        "QUERY_STRING": [("", query)] if has_query else [],
        "ARGS": arguments,
        "ARGS_NAMES": [(name, name) for name, _ in arguments],
        "REQUEST_LINE": [("", f"{as_latin1(request.method)} {url} {request.protocol}")],
        "REQUEST_METHOD": [("", as_latin1(request.method))],
        "REQUEST_PROTOCOL": [("", request.protocol)],
        "REQUEST_HEADERS": headers,
    }
    return {1: phase_1, 2: {**phase_1, **path_variables(apache_path(path), has_query + query)}}


def path_variables(path: str, query_part: str) -> dict[str, list[tuple[str, str]]]:
    basename = path.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]  # as file_basename: past the last slash, then backslash
    return {
        "REQUEST_URI": [("", path + query_part)],
        "REQUEST_FILENAME": [("", path)],
        "REQUEST_BASENAME": [("", basename)],
    }


ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")
PERCENT_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})")


def apache_path(path: str) -> str:
    """The path as Apache 2.4 leaves it for phase 2: ap_normalize_path (escapes of unreserved characters
    decoded, slashes merged, dot segments removed, never above the root) then ap_unescape_url (the other
    escapes). Apache refuses a path with a bad escape, %00 or %2F; a log may hold one, so those stay as sent."""
    path = UNRESERVED_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), path)
    path = re.sub(r"/{2,}", "/", path)
    if "/." in path:
        path = remove_dot_segments(path)
    return PERCENT_ESCAPE.sub(lambda match: apache_unescape(match), path) if "%" in path else path


def apache_unescape(match: re.Match) -> str:
    byte = chr(int(match.group(1), 16))
    return match.group() if byte in "\0/" else byte


def remove_dot_segments(path: str) -> str:
    """RFC 3986's dot-segment removal, as ap_normalize_path does it (a `..` above the root is dropped)."""
    segments: list[str] = []
    parts = path.split("/")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == ".":
            if last:
                segments.append("")
        elif part == "..":
            if len(segments) > 1:
                segments.pop()
            if last:
                segments.append("")
        else:
            segments.append(part)
    return "/".join(segments)


# ---------------------------------------------------------------- deciding what loads


def family_of(rule_id: str) -> str:
    return FAMILY_BY_ID.get(rule_id) or FAMILY_BY_FILE.get(rule_id[:3], "generic")


def logged(target: Target) -> bool:
    if target.collection == "REQUEST_HEADERS":
        return target.key is None or target.key.lower() in LOGGED_HEADERS
    return target.collection in LOGGED_COLLECTIONS


def rule_local(target: Target, earlier: list[Link]) -> bool:
    """A chain link's target set by the links before it: MATCHED_VAR(S), a capture TX:N, a setvar'd TX:name."""
    if target.collection in CHAIN_COLLECTIONS:
        return True
    if target.collection != "TX" or target.key is None:
        return False
    key = target.key.lower()
    if key.isdigit():
        return any(link.capture for link in earlier)
    return any(name == f"tx.{key}" for link in earlier for name, _ in link.setvars)


def check_loadable(raw: RawRule) -> None:
    """Raise Unsupported with the reason when the engine cannot evaluate the rule on an access log."""
    if raw.id[:3] in NOT_EVALUATED_FILES:
        raise Unsupported(NOT_EVALUATED_FILES[raw.id[:3]])
    first = raw.links[0]
    if any(t.collection == "TX" and not t.exclude for t in first.targets):
        if skip_block_level(first) is not None or any(t.key and "paranoia" in t.key.lower() for t in first.targets):
            raise Unsupported("paranoia-level skip marker (honoured: the level of the rules after it)")
        keys = ", ".join(f"TX:{t.key}" for t in first.targets if t.collection == "TX")
        raise Unsupported(f"reads {keys}: set by crs-setup.conf (unset by default) or by another rule's setvar")
    if any(name == "nolog" for name, _ in raw.actions) and raw.action("msg") is None and not switches_off(raw):
        raise Unsupported("does not log (sets state or switches targets off for performance)")
    for position, link in enumerate(raw.links):
        usable = [t for t in link.targets if not t.exclude and (logged(t) or rule_local(t, raw.links[:position]))]
        if not usable:
            wanted = "|".join(str(t) for t in link.targets if not t.exclude)
            where = "its variables" if position == 0 else "a chain link's variables"
            raise Unsupported(f"{where} are not in an access log: {wanted}")
        link.test  # noqa: B018 -- compiles the operator now: an unsupported one is a load-time reason


def parse_files(paths: Iterable[Path]) -> tuple[list[Rule], list[tuple[str, str]]]:
    loaded, not_loaded = [], []
    for raw in read_rules(paths):
        try:
            check_loadable(raw)
        except Unsupported as reason:
            not_loaded.append((raw.id, str(reason)))
            continue
        variables = tuple(dict.fromkeys(str(t) for t in raw.links[0].targets if not t.exclude and logged(t)))
        tags = tuple(value for name, value in raw.actions if name == "tag")
        message = raw.action("msg") or ""
        loaded.append(
            Rule(
                raw.id,
                raw.paranoia,
                family_of(raw.id),
                message,
                variables,
                tuple(raw.links),
                tags,
                switches_off(raw),
                raw.phase,
            )
        )
    return loaded, not_loaded


def switches_off(raw: RawRule) -> tuple[tuple[str, str], ...]:
    """The (tag, collection) pairs of the rule's ctl:ruleRemoveTargetByTag actions."""
    pairs = []
    for name, value in raw.actions:
        if name == "ctl" and value.startswith("ruleRemoveTargetByTag="):
            tag, _, target = value.partition("=")[2].partition(";")
            pairs.append((tag, target.upper()))
    return tuple(pairs)


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("REQUEST-9*.conf"))


# ---------------------------------------------------------------- evaluation


@dataclass
class ChainState:
    """What the links of one rule evaluation set for the next: matched variables, captures, setvars."""

    matched: list[tuple[str, str]] = field(default_factory=list)
    tx: dict[str, str] = field(default_factory=dict)
    switched_off: frozenset[str] = frozenset()  # collections a switch rule took from this rule
    variables: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # the request's, in the rule's phase


class Memo:
    """Transformed values, set scans and operator verdicts, each a pure function of its key: so one request's
    evaluation reuses them (a chain common to many rules runs once), and a rule set may keep them across
    requests (a log repeats its User-Agents and URLs). Bounded: emptied when it holds `limit` entries."""

    def __init__(self, limit: int = 0):
        self.limit = limit
        self.transformed: dict[tuple[tuple[str, ...], str], str] = {}
        self.scans: dict[str, list[int]] = {}  # the rule set's one scan, by the string scanned
        self.found: dict[tuple[int, str, str, str], tuple[Rule, ...]] = {}  # PatternScan.value_candidates
        self.value_verdicts: dict[tuple[int, str, str, str], bool] = {}  # Evaluation.one_link_matches
        self.verdicts: dict[tuple[int, str], object] = {}
        self.stages: dict[tuple[tuple[str, ...], str], tuple[str, ...]] = {}

    def trim(self) -> None:
        kept = (self.transformed, self.scans, self.verdicts, self.stages, self.found, self.value_verdicts)
        if sum(map(len, kept)) > self.limit:
            self.value_verdicts.clear()
            self.found.clear()
            self.stages.clear()
            self.transformed.clear()
            self.scans.clear()
            self.verdicts.clear()


class Evaluation:
    """One request's evaluation: its variables, and the memo of what it computed (see Memo)."""

    def __init__(self, request: Request, memo: Memo | None = None):
        self.variables = request_variables(request)  # by phase
        memo = memo or Memo()
        self.transformed, self.scans, self.verdicts, self.stages, self.found, self.value_verdicts = (
            memo.transformed,
            memo.scans,
            memo.verdicts,
            memo.stages,
            memo.found,
            memo.value_verdicts,
        )
        self.switched_off: dict[str, set[str]] = {}
        self.marks: dict[str, frozenset[str]] = {}

    def marks_of(self, value: str) -> frozenset[str]:
        marks = self.marks.get(value)
        if marks is None:
            marks = self.marks[value] = transforms.marks(value)
        return marks

    def unchanged(self, link: Link, value: str) -> bool:
        """Whether the link's chain leaves the value as it is, known from its marks without running it."""
        return link.unchanged_without is not None and self.marks_of(value).isdisjoint(link.unchanged_without)

    def transform(self, link: Link, value: str) -> str:
        key = (link.transforms, value)
        result = self.transformed.get(key)
        if result is None:
            result = link.transform(value)[:MAX_VALUE]
            self.transformed[key] = result
        return result

    def values(self, link: Link, state: ChainState) -> Iterator[tuple[str, str]]:
        """The link's (member name, raw value) pairs: its targets less its exclusions; `&X` is X's count."""
        for target in link.targets:
            if target.exclude or target.collection in state.switched_off:
                continue
            members = self.members(target, state)
            if target.count:
                yield f"&{target}", str(len(members))
            else:
                yield from ((name, value) for name, value in members if link.reads(target.collection, name))

    def members(self, target: Target, state: ChainState) -> list[tuple[str, str]]:
        if target.collection in ("MATCHED_VAR", "MATCHED_VARS"):
            return state.matched[-1:] if target.collection == "MATCHED_VAR" else list(state.matched)
        if target.collection in ("MATCHED_VAR_NAME", "MATCHED_VARS_NAMES"):
            return [(name, name) for name, _ in state.matched]
        if target.collection == "TX":
            value = state.tx.get((target.key or "").lower())
            return [] if value is None else [(target.key or "", value)]
        members = state.variables.get(target.collection, [])
        return [(name, value) for name, value in members if target.selects(name)] if target.key else members

    def link_matches(self, link: Link, state: ChainState) -> bool:
        matched: list[tuple[str, str]] = []
        for name, raw_value in self.values(link, state):
            for value in self.values_to_test(link, raw_value):
                result = self.verdict(link, state, value)
                if bool(result) != link.negated:
                    break
            else:
                continue
            matched.append((name, value))
            if link.capture and isinstance(result, re2._Match):
                for index in range(10):
                    group = result.group(index) if index <= len(result.groups()) else None
                    if group is not None:
                        state.tx[str(index)] = group.decode("latin-1")
            for setvar_name, setvar_value in link.setvars:
                if setvar_name.startswith("tx."):
                    state.tx[setvar_name[3:]] = expand_local(setvar_value, state, value)
        # MATCHED_VARS grows along the chain (ModSecurity clears it only when a new rule starts), so a third link
        # reading it sees the first link's matches as well as the second's.
        state.matched.extend(matched)
        return bool(matched)

    def values_to_test(self, link: Link, raw_value: str) -> tuple[str, ...]:
        """The transformed value; with multiMatch, every stage of the chain (see transforms.stages)."""
        if self.unchanged(link, raw_value):
            return (raw_value,)
        if not link.multi_match:
            return (self.transform(link, raw_value),)
        key = (link.transforms, raw_value)
        values = self.stages.get(key)
        if values is None:
            values = self.stages[key] = tuple(value[:MAX_VALUE] for value in link.stages(raw_value))
        return values

    def verdict(self, link: Link, state: ChainState, value: str) -> object:
        """The operator's result on the value; memoized unless it depends on the chain (captures, %{TX.n})."""
        if link.capture or link.rule_local_macros:
            return link.test_in(state, value)(value)
        key = (id(link), value)
        result = self.verdicts.get(key)
        if result is None:
            result = self.verdicts[key] = bool(link.test(value))
        return result

    def switch(self, rules: Iterable[Rule]) -> None:
        """Apply the switch rules that match: their tags' rules stop reading the collections they name."""
        for rule in rules:
            if self.rule_matches(rule):
                for tag, collection in rule.switches_off:
                    self.switched_off.setdefault(tag, set()).add(collection)

    def reads(self, rule: Rule, collection: str) -> bool:
        return not any(collection in self.switched_off.get(tag, ()) for tag in rule.tags)

    def rule_matches(self, rule: Rule) -> bool:
        switched = (
            frozenset(c for tag in rule.tags for c in self.switched_off.get(tag, ())) if self.switched_off else None
        )
        if rule.one_link_on_values:
            return self.one_link_matches(rule.links[0], rule.phase, switched or frozenset())
        state = ChainState(switched_off=switched or frozenset(), variables=self.variables[rule.phase])
        return all(self.link_matches(link, state) for link in rule.links)

    def one_link_matches(self, link: Link, phase: int, switched_off: frozenset[str]) -> bool:
        """link_matches for a rule of one link that reads only the request's values (Rule.one_link_on_values):
        whether any value matches, each value's answer memoized (a log repeats its values)."""
        variables = self.variables[phase]
        for collection in link.collections:
            if collection in switched_off:
                continue
            for name, raw_value in variables.get(collection, ()):
                key = (id(link), collection, name, raw_value)
                matched = self.value_verdicts.get(key)
                if matched is None:
                    matched = link.reads(collection, name) and any(
                        bool(link.test(value)) != link.negated for value in self.values_to_test(link, raw_value)
                    )
                    self.value_verdicts[key] = matched
                if matched:
                    return True
        return False


def expand_local(text: str, state: ChainState, matched_value: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1).lower()
        if name == "matched_var":
            return matched_value
        return state.tx.get(name.removeprefix("tx."), TX_DEFAULTS.get(name.removeprefix("tx."), ""))

    return MACRO.sub(value, text)


def _collect_hit(pattern_id: int, _start: int, _end: int, _flags: int, hits: list[int]) -> None:
    hits.append(pattern_id)


class HyperscanScanner:
    """One hyperscan block database over the patterns: which of them match a value, in one pass over it.
    The patterns hyperscan refuses are `refused` (their rules are evaluated on their own). The compiled
    database is cached under SECMON_CACHE_DIR (default ~/.cache/secmon), by a digest of the patterns and
    hyperscan's version: a process loads it in milliseconds instead of compiling for seconds."""

    FLAGS = hyperscan.HS_FLAG_DOTALL | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY

    def __init__(self, patterns: list[str]):
        encoded = [pattern.encode("latin-1") for pattern in patterns]
        digest = hashlib.sha256(b"\0".join([hyperscan.__version__.encode(), str(self.FLAGS).encode(), *encoded]))
        cached = cache_dir() / f"crs-{digest.hexdigest()[:32]}.hsdb"
        try:
            refused_line, _, serialized = cached.read_bytes().partition(b"\n")
            self.refused = frozenset(int(index) for index in refused_line.split())
            self.database = hyperscan.loadb(serialized, hyperscan.HS_MODE_BLOCK) if serialized else None
        except (OSError, ValueError, hyperscan.error):
            self.refused, self.database = self.compile(encoded)
            self.save(cached)
        self.scratch = hyperscan.Scratch(self.database) if self.database is not None else None

    @classmethod
    def compile(cls, encoded: list[bytes]) -> tuple[frozenset[int], hyperscan.Database | None]:
        """Hyperscan refuses a few CRS patterns (too large); as prefilters it takes them, but those match most
        requests (9322xx's on 2 requests in 3 of the benign corpus), so their rules run on their own instead."""
        refused = set()
        for index, pattern in enumerate(encoded):
            try:
                hyperscan.Database().compile(expressions=[pattern], flags=[cls.FLAGS])
            except hyperscan.error:
                refused.add(index)
        accepted = [index for index in range(len(encoded)) if index not in refused]
        if not accepted:
            return frozenset(refused), None
        database = hyperscan.Database()
        database.compile(expressions=[encoded[i] for i in accepted], ids=accepted, flags=[cls.FLAGS] * len(accepted))
        return frozenset(refused), database

    def save(self, path: Path) -> None:
        """Written whole or not at all (a temporary file renamed): another process may be reading it."""
        serialized = hyperscan.dumpb(self.database) if self.database is not None else b""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(" ".join(map(str, sorted(self.refused))).encode() + b"\n" + serialized)
            temporary.replace(path)
            for stale in sorted(path.parent.glob("crs-*.hsdb"), key=lambda p: p.stat().st_mtime)[:-CACHED_DATABASES]:
                stale.unlink(missing_ok=True)  # rule sets of other versions or paranoia levels: the newest are kept
        except OSError:
            pass  # a read-only home: compiled again next time, nothing lost

    def scan(self, value: bytes) -> list[int]:
        hits: list[int] = []
        if self.database is not None:
            self.database.scan(value, match_event_handler=_collect_hit, context=hits, scratch=self.scratch)
        return hits


def cache_dir() -> Path:
    return Path(os.environ.get("SECMON_CACHE_DIR") or Path.home() / ".cache" / "secmon")


class Re2Scanner:
    """One `re2.Set` over patterns: which of them match a value (the engine hyperscan is measured against)."""

    refused: frozenset[int] = frozenset()

    def __init__(self, patterns: list[str]):
        self.set = re2.Set.SearchSet(RE2_OPTIONS)
        for pattern in patterns:
            self.set.Add(pattern.encode("latin-1"))
        self.set.Compile()

    def scan(self, value: bytes) -> list[int]:
        return self.set.Match(value) or []


Scanner = HyperscanScanner | Re2Scanner


@dataclass
class PatternGroup:
    """The rules whose first links (`@rx`, `@pm`) share one transformation chain (and multiMatch, under which
    every stage of the chain is tested), by the index of their pattern in the rule set's scanner."""

    link: Link  # any member's first link: it carries the shared chain and multiMatch
    phase: int
    rules_by_pattern: dict[int, list[Rule]]
    collections: tuple[str, ...]


@dataclass
class PatternScan:
    """Every group's patterns in one database. A value is scanned once per distinct string its groups' chains
    make of it (most chains leave most values as they are), and a hit counts for the groups that made that
    string."""

    groups: list[PatternGroup]
    scanner: Scanner
    # Per phase and collection, the groups that read it, by their chains' marks (transforms.UNCHANGED_WITHOUT):
    # a value without the marks is tested as it is by the whole batch, with no chain run.
    readers: dict[tuple[int, str], list[tuple[frozenset[str] | None, list[PatternGroup]]]] = field(init=False)

    def __post_init__(self):
        by_marks: dict[tuple[int, str], dict[frozenset[str] | None, list[PatternGroup]]] = {}
        for group in self.groups:
            for collection in group.collections:
                batches = by_marks.setdefault((group.phase, collection), {})
                batches.setdefault(group.link.unchanged_without, []).append(group)
        self.readers = {key: list(batches.items()) for key, batches in by_marks.items()}

    def candidates(self, evaluation: Evaluation) -> Iterator[Rule]:
        """The rules with a value on which their pattern matched (a chain or a capture still to confirm)."""
        for (phase, collection), batches in self.readers.items():
            for name, raw_value in evaluation.variables[phase].get(collection, ()):
                key = (phase, collection, name, raw_value)
                found = evaluation.found.get(key)
                if found is None:
                    found = self.value_candidates(evaluation, collection, name, raw_value, batches)
                    evaluation.found[key] = found
                for rule in found:
                    if evaluation.reads(rule, collection):
                        yield rule

    def value_candidates(
        self, evaluation: Evaluation, collection: str, name: str, raw_value: str, batches: list
    ) -> tuple[Rule, ...]:
        """The rules whose pattern matched one member's value: a pure function of it, so memoized (a log
        repeats its User-Agents and Referers)."""
        found = []
        for value, value_groups in self.strings_tested(evaluation, raw_value, batches).items():
            hits = evaluation.scans.get(value)
            if hits is None:
                hits = evaluation.scans[value] = self.scanner.scan(as_bytes(value))
            for index in hits:
                for group in value_groups:
                    found.extend(
                        rule for rule in group.rules_by_pattern.get(index, ()) if rule.links[0].reads(collection, name)
                    )
        return tuple(found)

    @staticmethod
    def strings_tested(evaluation: Evaluation, raw_value: str, batches: list) -> dict[str, list[PatternGroup]]:
        """Each string the groups' chains make of the value, with the groups that test it."""
        marks = evaluation.marks_of(raw_value)
        tested: dict[str, list[PatternGroup]] = {}
        for unchanged_without, groups in batches:
            if unchanged_without is not None and marks.isdisjoint(unchanged_without):
                tested.setdefault(raw_value, []).extend(groups)
                continue
            for group in groups:
                for value in evaluation.values_to_test(group.link, raw_value):
                    tested.setdefault(value, []).append(group)
        return tested


def scan_patterns(link: Link) -> tuple[str, ...]:
    """The regexes a scanner can look for a first link (a plain or multiMatch `@rx`; a `@pm`, its phrases in
    parts of at most PHRASES_PER_PATTERN characters, under hyperscan's pattern length limit); none when the
    link needs its own evaluation (another operator, a negation, a placeholder read per evaluation)."""
    if link.negated or link.rule_local_macros:
        return ()
    if link.operator == "rx":
        return (expand_tx(link.argument),)
    if link.operator in PHRASE_OPERATORS:
        words = sorted(set(phrases(link.operator, expand_tx(link.argument))))
        parts, part, size = [], [], 0
        for word in words:
            if part and size + len(word) > PHRASES_PER_PATTERN:
                parts.append(part)
                part, size = [], 0
            part.append(word)
            size += len(word) + 1
        return tuple(pattern for pattern in map(phrase_pattern, [*parts, part]) if pattern is not None)
    return ()


def pattern_scan(rules: Iterable[Rule], scanner: Callable[[list[str]], Scanner]) -> tuple[PatternScan, list[Rule]]:
    """Rules whose first link a scanner can look for, grouped by chain, in one scan; the others (evaluated one
    by one). A rule with a pattern the scanner refuses is evaluated on its own."""
    patterns_of = {rule.id: scan_patterns(rule.links[0]) for rule in rules}
    scannable = [rule for rule in rules if patterns_of[rule.id]]
    direct = [rule for rule in rules if not patterns_of[rule.id]]
    index_of = {
        pattern: index
        for index, pattern in enumerate(
            dict.fromkeys(pattern for rule in scannable for pattern in patterns_of[rule.id])
        )
    }
    engine = scanner(list(index_of))
    by_chain: dict[tuple[int, tuple[str, ...], bool], list[Rule]] = {}
    for rule in scannable:
        if any(index_of[pattern] in engine.refused for pattern in patterns_of[rule.id]):
            direct.append(rule)
        else:
            first = rule.links[0]
            by_chain.setdefault((rule.phase, first.transforms, first.multi_match), []).append(rule)
    groups = []
    for (phase, _, _), members in by_chain.items():
        rules_by_pattern: dict[int, list[Rule]] = {}
        for rule in members:
            for pattern in patterns_of[rule.id]:
                rules_by_pattern.setdefault(index_of[pattern], []).append(rule)
        collections = tuple(dict.fromkeys(t.collection for r in members for t in r.links[0].targets if logged(t)))
        groups.append(PatternGroup(members[0].links[0], phase, rules_by_pattern, collections))
    return PatternScan(groups, engine), direct


class CrsRuleSet:
    """The CRS rules loaded at one paranoia level. `match(request)` gives the ids of the rules that fire."""

    def __init__(
        self,
        rules: list[Rule],
        not_loaded: list[tuple[str, str]],
        paranoia: int,
        scanner: Callable[[list[str]], Scanner] = HyperscanScanner,
        memo_limit: int = 0,
    ):
        self.paranoia = paranoia
        self.loaded = tuple(rule for rule in rules if rule.paranoia <= paranoia and not rule.switches_off)
        self.switches = tuple(rule for rule in rules if rule.paranoia <= paranoia and rule.switches_off)
        self.not_loaded = tuple(not_loaded)
        self.scan, self.direct = pattern_scan(self.loaded, scanner)
        self.memo = Memo(memo_limit) if memo_limit else None

    @classmethod
    def load(cls, paranoia: int = DEFAULT_PARANOIA) -> CrsRuleSet:
        """The vendored rules at this paranoia level (1-4), parsed once per level."""
        return load_cached(paranoia)

    @classmethod
    def parse(cls, paranoia: int = DEFAULT_PARANOIA, **options) -> CrsRuleSet:
        rules, not_loaded = parse_files(rule_files())
        return cls(rules, not_loaded, paranoia, **options)

    def match(self, request: Request) -> frozenset[str]:
        """The ids of the rules that fire on the request."""
        memo = self.memo if request.memoizable else None
        if memo is not None:
            memo.trim()
        evaluation = Evaluation(request, memo)
        evaluation.switch(self.switches)
        fired: set[str] = set()
        # Every candidate is confirmed by the rule itself (RE2): hyperscan's `$` also matches before a final
        # newline (PCRE's default), where ModSecurity compiles with PCRE_DOLLAR_ENDONLY.
        for rule in self.scan.candidates(evaluation):
            if rule.id not in fired and evaluation.rule_matches(rule):
                fired.add(rule.id)
        fired.update(rule.id for rule in self.direct if evaluation.rule_matches(rule))
        return frozenset(fired)

    def match_each(self, request: Request) -> frozenset[str]:
        """`match` without the sets: every rule on its own (the reference the sets are measured against)."""
        evaluation = Evaluation(request)
        evaluation.switch(self.switches)
        return frozenset(rule.id for rule in self.loaded if evaluation.rule_matches(rule))


@functools.cache
def load_cached(paranoia: int) -> CrsRuleSet:
    return CrsRuleSet.parse(paranoia, memo_limit=MEMO_LIMIT)


# ---------------------------------------------------------------- the report


def report_text() -> str:
    """What loads at each paranoia level, per family, and every rule not loaded with its reason."""
    rules, not_loaded = parse_files(rule_files())
    alerting = [rule for rule in rules if not rule.switches_off]
    families = sorted({rule.family for rule in alerting})
    lines = [
        "# OWASP CRS rules on an access log: what secmon.core.classify.crs loads (regenerate:",
        "# python -m secmon.core.classify.crs; a test fails when this file is stale).",
        "",
        "loaded, by family and paranoia level (a level includes the levels below it)",
        f"{'family':<20}" + "".join(f"{f'PL{level}':>6}" for level in range(1, 5)),
    ]
    for family in families:
        counts = [sum(r.family == family and r.paranoia <= level for r in alerting) for level in range(1, 5)]
        lines.append(f"{family:<20}" + "".join(f"{count:>6}" for count in counts))
    lines.append(
        f"{'total':<20}" + "".join(f"{sum(r.paranoia <= level for r in alerting):>6}" for level in range(1, 5))
    )
    by_reason: dict[str, list[str]] = {}
    for rule_id, reason in not_loaded:
        by_reason.setdefault(reason, []).append(rule_id)
    lines += ["", f"not loaded: {len(not_loaded)} rules, by reason"]
    for reason, ids in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
        lines.append(f"{len(ids):>4}  {reason}")
        lines.append("      " + " ".join(ids))
    lines += ["", "loaded rules: id, paranoia level, family, variables"]
    lines += [f"{r.id}  PL{r.paranoia}  {r.family:<18} {'|'.join(r.variables)}" for r in rules if not r.switches_off]
    lines += ["", "applied as switches (ctl:ruleRemoveTargetByTag: when the rule matches, tagged rules skip a target)"]
    lines += [
        f"{r.id}  PL{r.paranoia}  " + " ".join(f"{t}:{c}" for t, c in r.switches_off) for r in rules if r.switches_off
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    REPORT_PATH.write_text(report_text(), encoding="utf-8")
    print(f"wrote {REPORT_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
