"""The query parameters of CrowdSec's bouncer API, each honoured or refused with a 400: none is ignored.

The names and their meaning are those of crowdsecurity/crowdsec pkg/database/decisions.go
(BuildDecisionRequestWithFilter: `scopes` / `scope`, `value`, `type`, `origins` (OriginIn, exact),
`scenarios_containing` / `scenarios_not_containing` (ContainsFold over a comma list), `ip` / `range`
with `contains` (default true: the decisions whose range holds the asked one; false: those inside
it)), and of StreamDecision (`scopes` defaults to "ip,range"). `dedup`, `simulated`, `community_pull`
and `additional_pull` are booleans that hold trivially here: one decision per address, none simulated,
none from CrowdSec's community or lists. An empty value or one that does not parse is a 400, never
"no filter" (an empty `ip=` once answered every ban).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from secmon.decisions.policy import DECISION_TYPE, ORIGIN, Decision, as_network, canonical_entity


class BadQuery(ValueError):
    """A query the server answers with 400 and this message."""


def _boolean(name: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise BadQuery(f"{name}={text!r}: expected true or false")
    return text.lower() == "true"


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _entity(name: str, text: str) -> str:
    try:
        return canonical_entity(text)
    except ValueError as exc:
        raise BadQuery(f"{name}={text!r}: {exc}") from None


Test = Callable[[Decision], bool]


def _list_test(name: str, text: str) -> Test:
    names = _names(text)
    if not names:
        raise BadQuery(f"{name}={text!r}: expected a comma-separated list")
    lowered = [part.lower() for part in names]
    tests: dict[str, Test] = {
        "scopes": lambda d: d.scope.lower() in lowered,
        "origins": lambda d: ORIGIN in names,
        "scenarios_containing": lambda d: any(part in d.scenario.lower() for part in lowered),
        "scenarios_not_containing": lambda d: not any(part in d.scenario.lower() for part in lowered),
    }
    return tests[name]


def _range_test(text: str, contains: bool) -> Test:
    asked = as_network(text)

    def test(decision: Decision) -> bool:
        banned = as_network(decision.value)
        if banned.version != asked.version:
            return False
        return asked.subnet_of(banned) if contains else banned.subnet_of(asked)

    return test


STREAM_LISTS = ("scopes", "origins", "scenarios_containing", "scenarios_not_containing")
TRIVIAL_BOOLEANS = ("dedup", "simulated", "community_pull", "additional_pull")
STREAM_PARAMETERS = ("startup", *STREAM_LISTS, *TRIVIAL_BOOLEANS)
LOOKUP_PARAMETERS = ("scope", "value", "type", "ip", "range", "contains", *STREAM_LISTS[1:], *TRIVIAL_BOOLEANS)


def _parameters(query: str, known: tuple[str, ...]) -> dict[str, str]:
    """Each parameter's one value; an unknown, repeated or empty one is a BadQuery."""
    parsed = parse_qs(query, keep_blank_values=True)
    for name, values in parsed.items():
        if name not in known:
            raise BadQuery(f"{name}: not a parameter of this endpoint (known: {', '.join(known)})")
        if len(values) > 1:
            raise BadQuery(f"{name}: given {len(values)} times")
        if not values[0].strip():
            raise BadQuery(f"{name}: empty")
    return {name: values[0] for name, values in parsed.items()}


def stream_query(query: str) -> tuple[bool, list[Test]]:
    """`/v1/decisions/stream`'s parameters: (startup, the tests a decision must pass)."""
    given = _parameters(query, STREAM_PARAMETERS)
    for name in TRIVIAL_BOOLEANS:
        if name in given:
            _boolean(name, given[name])
    startup = _boolean("startup", given["startup"]) if "startup" in given else False
    given.setdefault("scopes", "ip,range")  # StreamDecision's default
    return startup, [_list_test(name, given[name]) for name in STREAM_LISTS if name in given]


def lookup_query(query: str) -> list[Test]:
    """`/v1/decisions`'s parameters: the tests a decision must pass."""
    given = _parameters(query, LOOKUP_PARAMETERS)
    for name in TRIVIAL_BOOLEANS:
        if name in given:
            _boolean(name, given[name])
    tests = [_list_test(name, given[name]) for name in STREAM_LISTS[1:] if name in given]
    if "scope" in given:
        tests.append(_list_test("scopes", given["scope"]))
    if "type" in given:
        tests.append(lambda d, wanted=given["type"]: wanted == DECISION_TYPE)
    if "value" in given:
        tests.append(lambda d, wanted=_entity("value", given["value"]): d.value == wanted)
    contains = _boolean("contains", given["contains"]) if "contains" in given else True
    for name in ("ip", "range"):
        if name in given:
            tests.append(_range_test(_entity(name, given[name]), contains))
    return tests


def passes(decision: Decision, tests: list[Test]) -> bool:
    return all(test(decision) for test in tests)
