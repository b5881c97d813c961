"""CrowdSec's hub as exploit signatures: `secmon patterns --crowdsec-hub DIR`.

It reads a hub (the layout `cscli` installs under /etc/crowdsec/hub, or a checkout of
crowdsecurity/hub): the HTTP scenarios (`type: trigger` and `type: leaky` whose `filter` reads the
fields the hub's http-logs enricher derives from an access-log line) and the virtual-patching AppSec
rules (`appsec-rules/*/vpatch-*.yaml`). What an access log can show of each rule becomes one SQL
condition over a request's columns; every rule that cannot be translated is reported with why.

The `expr` subset translated: `and or not && || !`, parentheses, `== != in contains startsWith
endsWith matches`, `Upper Lower PathUnescape QueryUnescape`, strings, lists; the fields
`evt.Meta.http_path` (the request URI, query included), `evt.Parsed.http_args` (the query),
`evt.Parsed.verb`/`evt.Meta.http_verb`, `evt.Meta.http_status`, `evt.Parsed.http_user_agent`,
`evt.Parsed.file_name`, and `evt.Meta.log_type`/`evt.Meta.service` (true of every access-log line).
AppSec zones: URI, URI_FULL, ARGS, ARGS_NAMES, METHOD and the User-Agent header.

Columns of the request the conditions read (the model provides them): `url`, `http_method`,
`status_code`, `user_agent`, and `decoded_url` (with_decoded_url: decoded twice, lowercased).
Unescaping functions and `urldecode` read `decoded_url`: it is lowercase, so a condition on it
compares lowercase (CrowdSec's rules wrap those in Upper/Lower anyway).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import re2
import yaml

from secmon.core import pattern_seeds

LICENCE = "MIT (crowdsecurity/hub)"
URL, DECODED = "url", "decoded_url"
QUERY = "split_part(url, '?', 2)"
DECODED_QUERY = f"split_part({DECODED}, '?', 2)"
FILE_NAME = "regexp_replace(split_part(url, '?', 1), '^.*/', '')"
FIELDS = {
    "evt.Meta.http_path": URL,
    "evt.Parsed.request": URL,
    "evt.Parsed.http_args": QUERY,
    "evt.Parsed.verb": "http_method",
    "evt.Meta.http_verb": "http_method",
    "evt.Meta.http_status": "cast(status_code as varchar)",
    "evt.Parsed.http_user_agent": "coalesce(user_agent, '')",
    "evt.Meta.http_user_agent": "coalesce(user_agent, '')",
    "evt.Parsed.file_name": FILE_NAME,
}
# True of every event secmon holds: CrowdSec's filters use them to pick the access logs.
ALWAYS_TRUE_FIELDS = ("evt.Meta.log_type", "evt.Meta.service")


class Untranslatable(Exception):
    """A rule secmon cannot express over an access-log line; the message says why."""


@dataclass(frozen=True)
class Signature:
    name: str
    kind: str  # scenario or vpatch
    cve: str
    description: str
    fields: str  # the request fields the condition reads
    condition: str  # SQL over url, decoded_url, http_method, status_code, user_agent
    translation: str  # translated, or partly (what was dropped)
    # A leaky bucket's (kind "bucket"): it overflows past `capacity` requests, one leaking every
    # `leak_seconds`; with `distinct` (SQL), a request whose value the bucket has seen is not poured.
    capacity: int | None = None
    leak_seconds: float | None = None
    distinct: str = ""


@dataclass(frozen=True)
class Refused:
    name: str
    reason: str


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def like_pattern(text: str, how: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return literal({"contains": f"%{escaped}%", "startsWith": f"{escaped}%", "endsWith": f"%{escaped}"}[how])


def checked_regex(pattern: str) -> str:
    try:
        re2.compile(pattern)
    except Exception as exc:  # noqa: BLE001 — re2 raises its own error types
        raise Untranslatable(f"regex not in the RE2 subset RisingWave shares: {str(exc)[:60]}") from None
    return pattern


# --- expr: tokens, a recursive-descent parser, and SQL ------------------------------------------------

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<number>\d+)|(?P<op>&&|\|\||==|!=|[()\[\],!])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*))"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise Untranslatable(f"expr: cannot read {text[position : position + 20]!r}")
        kind = match.lastgroup
        value = match[kind]
        if kind == "string":
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        tokens.append((kind, value))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


@dataclass
class Value:
    """A translated expr value: SQL, whether it is the decoded URL, and its case (upper/lower/None)."""

    sql: str
    decoded: bool = False
    case: str | None = None
    is_list: bool = False
    text: str | None = None  # a string literal's text


# expr constructs secmon does not translate: data files (any(File(…)), RegexpInFile…), `let`, `if`, casts.
UNTRANSLATED_CONSTRUCT = re.compile(r"\b(let|any|all|File|RegexpInFile|LookupFile|JsonExtract|len|int|if)\b")


class ExprParser:
    COMPARISONS = ("==", "!=", "contains", "startsWith", "endsWith", "matches", "in")

    def __init__(self, text: str) -> None:
        if construct := UNTRANSLATED_CONSTRUCT.search(text):
            word = construct[1]
            raise Untranslatable(f"expr: `{word}` (a data file or a construct secmon does not translate)")
        self.tokens, self.position, self.fields = tokenize(text), 0, set()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise Untranslatable("expr: ends too early")
        self.position += 1
        return token

    def parse(self) -> str:
        sql = self.disjunction()
        if self.peek() is not None:
            raise Untranslatable(f"expr: unexpected {self.peek()[1]!r}")
        return sql

    def disjunction(self) -> str:
        parts = [self.conjunction()]
        while self.peek() in (("op", "||"), ("name", "or")):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def conjunction(self) -> str:
        parts = [self.negation()]
        while self.peek() in (("op", "&&"), ("name", "and")):
            self.take()
            parts.append(self.negation())
        parts = [part for part in parts if part != "true"] or ["true"]
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def negation(self) -> str:
        if self.peek() in (("op", "!"), ("name", "not")):
            self.take()
            return f"not {self.negation()}"
        return self.comparison()

    def comparison(self) -> str:
        if self.peek() == ("op", "("):
            self.take()
            inner = self.disjunction()
            if self.take() != ("op", ")"):
                raise Untranslatable("expr: unbalanced parenthesis")
            return inner
        left_token = self.peek()
        left = self.value()
        token = self.peek()
        if token is None or token[1] not in self.COMPARISONS:
            raise Untranslatable(f"expr: a condition without a comparison near {left_token[1]!r}")
        operator = self.take()[1]
        right = self.value()
        if left.sql == "TRUE_FIELD":
            return "true"
        return compare(left, operator, right)

    def value(self) -> Value:
        kind, text = self.take()
        if kind == "string":
            return Value(literal(text), text=text)
        if kind == "number":
            return Value(literal(text), text=text)
        if (kind, text) == ("op", "["):
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.value())
                if self.peek() == ("op", ","):
                    self.take()
            self.take()
            return Value("(" + ", ".join(item.sql for item in items) + ")", is_list=True)
        if kind == "name" and self.peek() == ("op", "("):
            self.take()
            argument = self.value()
            if self.take() != ("op", ")"):
                raise Untranslatable(f"expr: {text}() takes one argument")
            return apply(text, argument)
        if kind == "name":
            if text in ALWAYS_TRUE_FIELDS:
                return Value("TRUE_FIELD")
            if text not in FIELDS:
                raise Untranslatable(f"expr: field {text} is not in an access log")
            self.fields.add(text.rsplit(".", 1)[1])
            return Value(FIELDS[text])
        raise Untranslatable(f"expr: unexpected {text!r}")


def apply(function: str, argument: Value) -> Value:
    if function in ("Upper", "Lower"):
        case = function.lower()
        if argument.text is not None:
            text = argument.text.upper() if case == "upper" else argument.text.lower()
            return Value(literal(text), text=text, case=case)
        if argument.decoded:  # already lowercase
            return Value(argument.sql, decoded=True, case="lower")
        return Value(f"{case}({argument.sql})", case=case)
    if function in ("PathUnescape", "QueryUnescape"):
        if argument.sql == URL:
            return Value(DECODED, decoded=True, case="lower")
        if argument.sql == QUERY:
            return Value(DECODED_QUERY, decoded=True, case="lower")
        raise Untranslatable(f"expr: {function} of {argument.sql}")
    raise Untranslatable(f"expr: function {function} is not translated")


def compare(left: Value, operator: str, right: Value) -> str:
    if left.decoded and right.text is not None:
        right = Value(literal(right.text.lower()), text=right.text.lower())  # the decoded URL is lowercase
    if operator == "in":
        if not right.is_list:
            raise Untranslatable("expr: `in` needs a list")
        return f"{left.sql} in {right.sql}"
    if operator in ("==", "!="):
        return f"{left.sql} {'=' if operator == '==' else '<>'} {right.sql}"
    if right.text is None:
        raise Untranslatable(f"expr: {operator} needs a string literal")
    if operator == "matches":
        return f"{left.sql} ~ {literal(checked_regex(right.text))}"
    return f"{left.sql} like {like_pattern(right.text, operator)}"


# --- the hub's files ------------------------------------------------------------------------------------


def _cve(labels: dict, name: str) -> str:
    for item in (labels or {}).get("classification", []) or []:
        if str(item).lower().startswith("cve."):
            return str(item)[4:].upper()
    found = re.search(r"cve-\d{4}-\d+", name, re.IGNORECASE)
    return found[0].upper() if found else ""


LEAK_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
LEAK_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def leak_seconds(text: str) -> float:
    """A Go duration as CrowdSec writes leakspeed (`10s`, `2m`, `500ms`) → seconds."""
    match = LEAK_SPEED.match(str(text))
    if match is None:
        raise Untranslatable(f"leakspeed {text!r} is not a duration like 10s or 2m")
    return float(match[1]) * LEAK_UNIT_SECONDS[match[2]]


def bucket_parameters(document: dict) -> dict:
    """What makes a leaky scenario a rate: its capacity, leak speed and distinct field, per source IP."""
    if document.get("groupby") != "evt.Meta.source_ip":
        raise Untranslatable(f"leaky bucket grouped by {document.get('groupby')!r}, not the source IP")
    for unsupported in ("condition", "cancel_on", "reprocess"):
        if unsupported in document:
            raise Untranslatable(f"leaky bucket with `{unsupported}`")
    distinct = ""
    if "distinct" in document:
        if document["distinct"] not in FIELDS:
            raise Untranslatable(f"leaky bucket distinct on {document['distinct']}, not in an access log")
        distinct = FIELDS[document["distinct"]]
    capacity = document.get("capacity")
    if not isinstance(capacity, int) or capacity < 1:
        raise Untranslatable(f"leaky bucket capacity {capacity!r} is not a whole number of requests")
    return {
        "capacity": capacity,
        "leak_seconds": leak_seconds(document.get("leakspeed")),
        "distinct": distinct,
    }


def scenario_signature(document: dict) -> Signature:
    kind = document.get("type")
    if kind not in ("trigger", "leaky"):
        raise Untranslatable(f"type {kind} (only trigger and leaky scenarios)")
    text = " ".join(str(document.get("filter", "")).split())
    if "http" not in text and "file_" not in text:
        raise Untranslatable("not an HTTP scenario")
    parser = ExprParser(text)
    condition = parser.parse()
    if condition == "true":
        raise Untranslatable("its filter keeps every access-log line: a rate of all traffic")
    bucket = bucket_parameters(document) if kind == "leaky" else {}
    if bucket and DECODED in condition:
        raise Untranslatable("leaky bucket on the decoded URL (crowdsec_burst reads the raw request)")
    return Signature(
        document["name"],
        "bucket" if bucket else "scenario",
        _cve(document.get("labels"), document["name"]),
        str(document.get("description", "")).strip(),
        ",".join(sorted(parser.fields)),
        condition,
        "translated",
        **bucket,
    )


ZONES = {
    "URI": (URL, DECODED),
    "URI_FULL": (URL, DECODED),
    "ARGS": (QUERY, DECODED_QUERY),
    "ARGS_NAMES": (QUERY, DECODED_QUERY),
    "METHOD": ("http_method", "http_method"),
}


def appsec_condition(rule: dict, dropped: list[str]) -> str | None:
    """One AppSec rule (a leaf, or an and/or of rules) as SQL; None when nothing of it can be seen, with
    the reasons in `dropped`."""
    for key, joiner in (("and", " and "), ("or", " or ")):
        if key in rule:
            parts = []
            for part in rule[key]:
                try:
                    parts.append(appsec_condition(part, dropped))
                except Untranslatable as exc:
                    if key != "or":
                        raise
                    dropped.append(str(exc))  # an alternative secmon cannot see: the rest still stands
                    parts.append(None)
            kept = [part for part in parts if part is not None]
            if not kept:
                return None
            return "(" + joiner.join(kept) + ")"
    transforms = rule.get("transform") or []
    if set(transforms) - {"lowercase", "urldecode", "uppercase"}:
        raise Untranslatable(f"transform {sorted(set(transforms) - {'lowercase', 'urldecode', 'uppercase'})}")
    match = rule.get("match", {})
    kind, value = match.get("type"), str(match.get("value", ""))
    columns = []
    for zone in rule.get("zones", []):
        if zone in ZONES:
            columns.append(ZONES[zone][1] if "urldecode" in transforms else ZONES[zone][0])
        elif zone == "HEADERS" and [str(v).lower() for v in rule.get("variables") or []] == ["user-agent"]:
            columns.append("coalesce(user_agent, '')")
        else:
            dropped.append(f"{zone} {rule.get('variables') or ''}".strip())
            return None
    lowered = "lowercase" in transforms or any(
        column.startswith("decoded") or "decoded_" in column for column in columns
    )
    if lowered:
        value = value.lower()
    conditions = []
    for column in columns:
        subject = f"lower({column})" if "lowercase" in transforms and "decoded" not in column else column
        if kind in ("contains", "startsWith", "endsWith"):
            conditions.append(f"{subject} like {like_pattern(value, kind)}")
        elif kind == "equals":
            if column in (QUERY, DECODED_QUERY) and rule.get("variables"):
                conditions.append(f"{subject} like {like_pattern('=' + value, 'contains')}")
            else:
                conditions.append(f"{subject} = {literal(value)}")
        elif kind == "regex":
            conditions.append(f"{subject} ~ {literal(checked_regex(value))}")
        elif kind in ("libinjectionSQL", "libinjectionXSS"):
            # libinjection is not in either engine: the same attack family's expressions on the decoded zone.
            family = "sqli" if kind == "libinjectionSQL" else "xss"
            decoded = {URL: DECODED, QUERY: DECODED_QUERY}.get(column, column)
            conditions.append(f"{decoded} ~ {literal(pattern_seeds.family_regex(family))}")
        else:
            raise Untranslatable(f"match type {kind}")
        for variable in rule.get("variables") or []:
            if column in (QUERY, DECODED_QUERY):
                conditions.append(f"{subject} like {like_pattern(str(variable).lower() + '=', 'contains')}")
    return (
        "(" + " or ".join(conditions) + ")"
        if len(conditions) > 1 and "variables" not in rule
        else "(" + " and ".join(conditions) + ")"
    )


def vpatch_signature(document: dict) -> Signature:
    dropped: list[str] = []
    condition = appsec_condition({"or": document.get("rules", [])}, dropped)
    if condition is None:
        raise Untranslatable("every condition reads a body or header: " + "; ".join(sorted(set(dropped))))
    translation = "translated" if not dropped else "partly: dropped " + "; ".join(sorted(set(dropped)))
    if dropped and condition.count(" like ") + condition.count(" ~ ") + condition.count(" = ") < 2:
        raise Untranslatable(
            "what remains without the body or header would match ordinary requests: " + "; ".join(sorted(set(dropped)))
        )
    fields = sorted(
        {
            field
            for field, column in (("path", URL), ("args", "?"), ("verb", "http_method"), ("user_agent", "user_agent"))
            if column in condition
        }
    )
    return Signature(
        document["name"],
        "vpatch",
        _cve(document.get("labels"), document["name"]),
        str(document.get("description", "")).strip(),
        ",".join(fields),
        condition,
        translation,
    )


# Hub scenarios that a detection of ours already is (their thresholds are our vars' defaults): they are
# counted as covered, not translated again.
COVERED = {
    "crowdsecurity/http-admin-interface-probing": "admin_interface_probing",
    "crowdsecurity/http-backdoors-attempts": "webshell_probing",
    "crowdsecurity/http-bad-user-agent": "bad_user_agent",
    "crowdsecurity/http-crawl-non_statics": "aggressive_crawling",
    "crowdsecurity/http-path-traversal-probing": "path_traversal",
    "crowdsecurity/http-probing": "path_probing",
    "crowdsecurity/http-sensitive-files": "sensitive_files",
    "crowdsecurity/http-sqli-probbing-detection": "sqli_probing",
    "crowdsecurity/http-xss-probbing": "xss_probing",
    "crowdsecurity/http-dos-swithcing-ua": "switching_user_agents",
    "crowdsecurity/http-generic-bf": "brute_force",
    "crowdsecurity/apache_log4j2_cve-2021-44228": "exploit_probing",
    "crowdsecurity/thinkphp-cve-2018-20062": "exploit_probing",
}


def read_hub(hub: Path) -> tuple[list[Signature], list[Refused]]:
    """Every HTTP scenario and virtual-patching rule of the hub at `hub`: translated, or refused with why."""
    signatures, refused = [], []
    scenario_files = sorted(hub.glob("scenarios/*/*.yaml"))
    vpatch_files = sorted(hub.glob("appsec-rules/*/vpatch-*.yaml"))
    if not scenario_files and not vpatch_files:
        raise FileNotFoundError(
            f"{hub} holds no scenarios/*/*.yaml nor appsec-rules/*/vpatch-*.yaml: not a CrowdSec hub"
        )
    for path, build in [(p, scenario_signature) for p in scenario_files] + [
        (p, vpatch_signature) for p in vpatch_files
    ]:
        for document in yaml.safe_load_all(path.read_text()):
            if not isinstance(document, dict) or "name" not in document:
                continue
            if build is scenario_signature and "filter" not in document:
                continue
            if build is scenario_signature and not re.search(r"http|file_(name|ext)", str(document.get("filter", ""))):
                continue  # not about HTTP at all (ssh, smb, …)
            if document["name"] in COVERED:
                refused.append(Refused(document["name"], f"covered: the {COVERED[document['name']]} detection"))
                continue
            try:
                signatures.append(build(document))
            except Untranslatable as exc:
                refused.append(Refused(document["name"], str(exc)))
    return signatures, refused


SEED_COLUMNS = (
    "name",
    "kind",
    "cve",
    "description",
    "fields",
    "condition",
    "translation",
    "capacity",
    "leak_seconds",
    "distinct_field",
    "hub_commit",
    "licence",
)


def seed_csv(signatures: list[Signature], commit: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SEED_COLUMNS)
    for signature in sorted(signatures, key=lambda s: s.name):
        writer.writerow(
            [
                signature.name,
                signature.kind,
                signature.cve,
                " ".join(signature.description.split()),
                signature.fields,
                signature.condition,
                signature.translation,
                "" if signature.capacity is None else signature.capacity,
                "" if signature.leak_seconds is None else f"{signature.leak_seconds:g}",
                signature.distinct,
                commit,
                LICENCE,
            ]
        )
    return buffer.getvalue()


def hub_commit(hub: Path) -> str:
    """The hub's commit: from a git checkout, else from the snapshot's README (`at commit <sha>`)."""
    head = hub / ".git" / "HEAD"
    if head.exists():
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            ref_file = hub / ".git" / ref[5:]
            return ref_file.read_text().strip() if ref_file.exists() else ref
        return ref
    readme = hub / "README.md"
    found = re.search(r"commit ([0-9a-f]{40})", readme.read_text()) if readme.exists() else None
    return found[1] if found else "unknown"


def report(signatures: list[Signature], refused: list[Refused]) -> str:
    """What `secmon patterns --crowdsec-hub` says: the counts, and every rule not translated with why."""
    partly = [s for s in signatures if s.translation != "translated"]
    covered = [r for r in refused if r.reason.startswith("covered")]
    lines = [
        f"translated {len(signatures) - len(partly)}, partly translated {len(partly)} (a condition on a body or "
        f"header dropped), covered by a detection {len(covered)}, refused {len(refused) - len(covered)}; "
        f"{sum(s.kind == 'bucket' for s in signatures)} of the translated are leaky buckets (crowdsec_burst)"
    ]
    lines += [f"  partly {s.name}: {s.translation}" for s in partly]
    lines += [f"  {'covered' if r.reason.startswith('covered') else 'refused'} {r.name}: {r.reason}" for r in refused]
    return "\n".join(lines) + "\n"
