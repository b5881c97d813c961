"""Custom pattern lists and attack families, applied where the rest is classified.

A pattern list is one seed (seeds/<file>.csv, a `pattern` column; secmon.core.classify.seeds) and one
line of data/pattern_lists.csv: which parts of the request it reads (`url`, `agent`, `referer`), how
it matches, and the lists whose match cancels it (`unless`). A request that matches list `name`
gets the tag `list:<name>`.

How a list matches (all literal, no regex; case-insensitive unless said):
    contains_ci    the text holds the pattern
    ends_with      the URL's path ends with the pattern (case-sensitive: `.SQL` is not `.sql`)
    path_contains  the URL's path holds the pattern
    path_in        the URL's path is the pattern
    file_in        the path's last segment is the pattern

An attack family is rows of seeds/attack_families.csv (family, regex): a request of the family gets
`family:<family>` when its URL decoded twice (`+` a space, as a server reads a query), its agent or
its referer, lowercased, matches one of the family's expressions.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from urllib.parse import unquote_plus

import re2

from secmon.core.classify import seeds
from secmon.core.classify.crowdsec import safe_text
from secmon.core.classify.request import Request
from secmon.core.classify.tags import FAMILY, LIST, tag

LISTS_PATH = Path(__file__).with_name("data") / "pattern_lists.csv"
TARGETS = ("url", "agent", "referer")
MATCHES = ("contains_ci", "ends_with", "path_contains", "path_in", "file_in")
_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.max_mem = 64 << 20


def _literal_alternation(patterns, suffix: str = "") -> re2._Regexp:
    return re2.compile("|".join(re2.escape(pattern) + suffix for pattern in patterns), options=_OPTIONS)


class PatternList:
    def __init__(self, name: str, targets: tuple[str, ...], match: str, unless: tuple[str, ...], patterns) -> None:
        self.name, self.targets, self.match, self.unless = name, targets, match, unless
        if match in ("contains_ci", "path_contains"):
            search = _literal_alternation(patterns).search
            self._test = lambda text: search(text) is not None
        elif match == "ends_with":
            suffixes = tuple(patterns)
            self._test = lambda text: text.endswith(suffixes)
        else:
            names = frozenset(pattern.lower() for pattern in patterns)
            self._test = lambda text: text.lower() in names

    def matches(self, request: Request) -> bool:
        return any(self._test(text) for text in self._texts(request))

    def _texts(self, request: Request):
        for target in self.targets:
            if target == "url":
                if self.match == "contains_ci":
                    yield request.url
                elif self.match == "file_in":
                    yield request.path.rpartition("/")[2]
                else:
                    yield request.path
            elif (text := request.user_agent if target == "agent" else request.referer) is not None:
                yield text


def _list_row(row: dict[str, str]) -> PatternList:
    targets = tuple(row["target"].split())
    if not targets or set(targets) - set(TARGETS) or row["match"] not in MATCHES:
        raise ValueError(
            f"{LISTS_PATH.name}: list {row['list']!r}: target must be of {TARGETS}, match one of {MATCHES}"
        )
    return PatternList(row["list"], targets, row["match"], tuple(row["unless"].split()), seeds.load(row["list"]))


@cache
def pattern_lists() -> tuple[PatternList, ...]:
    with open(LISTS_PATH, newline="") as handle:
        return tuple(_list_row(row) for row in csv.DictReader(handle))


@cache
def family_matchers() -> tuple[tuple[str, re2._Regexp], ...]:
    """Each family's expressions as one regex: the reference `family_scanner` must agree with."""
    return tuple((family, re2.compile(seeds.family_regex(family), options=_OPTIONS)) for family in seeds.families())


class FamilyScanner:
    """Every family's expressions in one re2.Set: one pass per text for all families, each text's families
    cached (agents and referers repeat across requests far more than whole requests do)."""

    CACHE_LIMIT = 50_000

    def __init__(self, families: dict[str, tuple[str, ...]]) -> None:
        self.family_of: list[str] = []
        self.set = re2.Set.SearchSet(_OPTIONS)
        for family, patterns in families.items():
            for pattern in patterns:
                self.set.Add(pattern)
                self.family_of.append(family)
        self.set.Compile()
        self._cache: dict[str, frozenset[str]] = {}

    def families(self, text: str) -> frozenset[str]:
        found = self._cache.get(text)
        if found is None:
            if len(self._cache) >= self.CACHE_LIMIT:
                self._cache.clear()
            hits = self.set.Match(safe_text(text)) or ()
            found = self._cache[text] = frozenset(self.family_of[index] for index in hits)
        return found


@cache
def family_scanner() -> FamilyScanner:
    return FamilyScanner(seeds.families())


@cache
def family_keywords() -> tuple[tuple[str, re2._Regexp], ...]:
    """Families that also match a CrowdSec keyword list on the raw URL (entries often written encoded)."""
    return tuple(
        (family, _literal_alternation(seeds.load(name))) for family, name in seeds.FAMILY_KEYWORD_LISTS.items()
    )


def decoded_twice(text: str) -> str:
    """As a server reads a query, and again for double encoding (`%2527`)."""
    if "%" not in text:
        return text.replace("+", " ")
    return unquote_plus(unquote_plus(text))


def list_tags(request: Request) -> set[str]:
    matched = {pattern_list.name for pattern_list in pattern_lists() if pattern_list.matches(request)}
    cancelled = {
        pattern_list.name
        for pattern_list in pattern_lists()
        if pattern_list.name in matched and set(pattern_list.unless) & matched
    }
    return {tag(LIST, name) for name in matched - cancelled}


def family_tags(request: Request) -> set[str]:
    scanner = family_scanner()
    found = set(scanner.families(decoded_twice(request.url)))
    for text in (request.user_agent, request.referer):
        if text:
            found |= scanner.families(text)
    found.update(family for family, keywords in family_keywords() if keywords.search(request.url))
    return {tag(FAMILY, family) for family in found}


def family_tags_reference(request: Request) -> set[str]:
    """`family_tags` one family regex at a time, uncached: what the tests hold the scanner to."""
    texts = [decoded_twice(request.url)] + [text for text in (request.user_agent, request.referer) if text]
    found = {
        tag(FAMILY, family)
        for family, matcher in family_matchers()
        if any(matcher.search(text) is not None for text in texts)
    }
    found.update(tag(FAMILY, family) for family, keywords in family_keywords() if keywords.search(request.url))
    return found
