"""The classifier: every rule source applied to one request, its tags as one sorted tuple.

    OWASP CRS (crs.py)         crs:<id>, and family:<family> of each rule's family
    CrowdSec's hub (crowdsec.py)  crowdsec:<rule>, bucket:<scenario>
    pattern lists, family seeds (lists.py)  list:<name>, family:<family>

A rule the quality gate demoted (gate.py; data/gate.csv, read by gate_verdicts.py: it matched benign
requests) keeps its tag with the `noban:` prefix and adds no family. Requests repeat (the same URL,
the same agent), so the tags of a request are cached by its parts in a bounded dict.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

from secmon.core.classify import gate_verdicts, lists, seeds
from secmon.core.classify.crowdsec import CrowdsecRules
from secmon.core.classify.crs import CrsRuleSet
from secmon.core.classify.request import Request
from secmon.core.classify.tags import CRS, FAMILY, MAX_TAGS, no_ban, tag
from secmon.core.events import Event

T = TypeVar("T")

# CRS rule families that are not payload families: they tag (crs:<id>) but count in no family detection.
NOT_PAYLOAD_FAMILIES = frozenset({"scanner", "protocol", "method"})


class Classifier:
    CACHE_LIMIT = 100_000

    def __init__(self, paranoia: int = 1) -> None:
        self.crs = CrsRuleSet.load(paranoia=paranoia)
        self.crowdsec = CrowdsecRules.load()
        self.demoted = gate_verdicts.demoted()
        self._family_of = {rule.id: rule.family for rule in self.crs.loaded}
        self._cache: dict[tuple, tuple[str, ...]] = {}
        # What does not read the status, by the request without it: a log answers one request many ways.
        self._status_free: dict[tuple, frozenset[str]] = {}

    def tags(self, request: Request) -> tuple[str, ...]:
        key = (request.method, request.url, request.user_agent, request.referer, request.status)
        return self._remembered(self._cache, key, request, self._classify)

    def _classify(self, request: Request) -> tuple[str, ...]:
        key = (request.method, request.url, request.user_agent, request.referer)
        status_free = self._remembered(self._status_free, key, request, self._status_free_tags)
        found = status_free | {no_ban(t) if t in self.demoted else t for t in self.crowdsec.scenario_tags(request)}
        # Families first, then the rest: the cap keeps what the detections count when a request fires everything.
        return tuple(sorted(found, key=lambda text: (not text.startswith(FAMILY), text))[:MAX_TAGS])

    def _remembered(self, cache: dict, key: tuple, request: Request, compute: Callable[[Request], T]) -> T:
        """compute(request), kept in `cache` by `key` when the request is short enough (Request.memoizable);
        the cache is emptied when it holds CACHE_LIMIT requests."""
        if not request.memoizable:
            return compute(request)
        found = cache.get(key)
        if found is None:
            if len(cache) >= self.CACHE_LIMIT:
                cache.clear()
            found = cache[key] = compute(request)
        return found

    def _status_free_tags(self, request: Request) -> frozenset[str]:
        """The pattern lists', the families', CRS's and CrowdSec's AppSec rules' tags."""
        found = lists.list_tags(request) | lists.family_tags(request)
        for rule_id in self.crs.match(request):
            rule_tag = tag(CRS, rule_id)
            if rule_tag in self.demoted:
                found.add(no_ban(rule_tag))
                continue
            found.add(rule_tag)
            if (family := self._family_of.get(rule_id)) and family not in NOT_PAYLOAD_FAMILIES:
                found.add(tag(FAMILY, family))
        found.update(no_ban(t) if t in self.demoted else t for t in self.crowdsec.appsec_tags(request))
        return frozenset(found)

    def event(self, event: Event) -> Event:
        """`event` with its tags."""
        request = Request(event.http_method, event.url, event.user_agent, event.referrer, event.status_code)
        return event._replace(tags=self.tags(request))

    def families(self) -> tuple[str, ...]:
        """Every payload family a request can be tagged with, sorted."""
        from_crs = {rule.family for rule in self.crs.loaded} - NOT_PAYLOAD_FAMILIES
        return tuple(sorted(from_crs | set(seeds.families())))


@cache
def default_classifier() -> Classifier:
    """The classifier at the project's settings (paranoia level 1), built once per process."""
    return Classifier()


def classified(event: Event) -> Event:
    """`event` with its tags, unless it has them already (classified where its line was read)."""
    return event if event.tags is not None else default_classifier().event(event)
