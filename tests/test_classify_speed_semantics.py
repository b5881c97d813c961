"""The fast classification paths give the tags the straightforward ones give, and replay's workers
publish every event once, in order.

Fast paths: the family seeds as one re2.Set with per-text caches (lists.family_tags), CrowdSec's
scenario prefilter (CrowdsecRules.match), the classifier's request cache, and `secmon replay`
classifying in worker processes (producer.publish.encode_chunks_in_workers)."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secmon.core.classify import lists
from secmon.core.classify.classifier import Classifier
from secmon.core.classify.gate import read_corpus
from secmon.core.classify.request import Request
from secmon.core.logs.formats import LineParser, MalformedLine
from secmon.producer import publish

DETECTIONS = Path(__file__).parent / "data" / "detections"


def fixture_requests() -> list[Request]:
    parser = LineParser("clf")
    requests = []
    for log in sorted(DETECTIONS.glob("*.log")):
        for line in log.read_text().splitlines():
            try:
                event = parser.parse(line)
            except MalformedLine:
                continue
            if event is not None:
                requests.append(
                    Request(event.http_method, event.url, event.user_agent, event.referrer, event.status_code)
                )
    return requests


@pytest.fixture(scope="module")
def requests() -> list[Request]:
    found = [benign.request for benign in read_corpus()] + fixture_requests()
    assert len(found) > 10_000 and any(lists.family_tags_reference(request) for request in found)
    return found


def fresh(request: Request) -> Request:
    """The same request, nothing derived from it cached yet."""
    return Request(request.method, request.url, request.user_agent, request.referer, request.status)


def test_family_scanner_agrees_with_one_regex_per_family(requests):
    for request in requests:
        assert lists.family_tags(request) == lists.family_tags_reference(request), request


def test_crowdsec_prefilter_agrees_with_every_filter_evaluated(requests):
    rules = Classifier().crowdsec
    fired = 0
    for request in requests:
        expected = rules.match_reference(fresh(request))
        assert rules.match(fresh(request)) == expected, request
        fired += bool(expected)
    assert fired > 50


def test_cached_tags_are_the_uncached_tags(requests):
    classifier = Classifier()
    for request in requests + requests[::7]:  # every request, then some again from the cache
        assert classifier.tags(fresh(request)) == classifier._classify(fresh(request)), request


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=200)), st.one_of(st.none(), st.text(max_size=100)))
def test_fast_paths_agree_on_any_text(path, agent, referer):
    request = Request("GET", "/" + path, agent, referer)
    assert lists.family_tags(request) == lists.family_tags_reference(fresh(request))
    rules = shared_rules()
    assert rules.match(request) == rules.match_reference(fresh(request))


_rules = []


def shared_rules():
    if not _rules:
        _rules.append(Classifier().crowdsec)
    return _rules[0]


def events(count: int):
    parser = LineParser("clf")
    lines = [
        f"198.51.100.{number % 200 + 1} - - [12/Mar/2024:10:{number // 3000:02d}:{number // 50 % 60:02d} +0000] "
        f'"GET /page/{number}?id={number % 13}%27%20or%201=1 HTTP/1.1" 200 {number} "-" "agent {number % 5}"'
        for number in range(count)
    ]
    return [parser.parse(line) for line in lines]


def test_replay_workers_publish_each_event_once_in_order():
    sample = events(12_000)
    expected = list(publish.encode_chunks(sample))
    rejected = []
    got = list(publish.encode_chunks_in_workers(iter(sample), rejected.append, workers=2))
    assert rejected == []
    assert [chunk[:4] for chunk in got] == [chunk[:4] for chunk in expected]
    assert len(got) > 2


def poison_one_request(monkeypatch, sample: list, effect) -> str:
    """Classifier.tags runs `effect` on the request of sample[120] (forked workers inherit the patch)."""
    poison = sample[120].url
    original = Classifier.tags

    def tags(self, request):
        if request.url == poison:
            effect()
        return original(self, request)

    monkeypatch.setattr(Classifier, "tags", tags)
    return poison


def boom():
    raise ValueError("boom")


def test_a_classifier_exception_is_a_reject_not_a_stop(monkeypatch):
    sample = events(300)
    poison = poison_one_request(monkeypatch, sample, boom)
    rejected = []
    got = list(publish.encode_chunks_in_workers(iter(sample), rejected.append, workers=2))
    values = [value for chunk in got for value in chunk[3]]
    keys = [key for chunk in got for key in chunk[2]]
    assert len(values) == len(keys) == 299
    assert len(rejected) == 1 and "boom" in rejected[0] and poison[:40] in rejected[0]
    assert not any(poison.encode() in value for value in values)


def test_a_worker_that_dies_fails_the_replay_instead_of_hanging_it(monkeypatch):
    sample = events(300)
    poison_one_request(monkeypatch, sample, lambda: os._exit(9))  # as the OOM killer ends it: no result
    with pytest.raises(BrokenProcessPool):
        list(publish.encode_chunks_in_workers(iter(sample), lambda reason: None, workers=2))


def test_a_long_request_is_classified_alike_and_not_kept():
    """A flood of distinct long requests must not grow the caches kept across requests (Request.memoizable)."""
    classifier = Classifier()
    long_url = "/search?q=" + "%27%20union%20select%20" * 200
    short_url = "/search?q=%27%20union%20select%201--"
    for url in (long_url, short_url):
        request = Request("GET", url, "Mozilla/5.0")
        assert classifier.tags(request) == classifier._classify(request)
    assert [key[1] for key in classifier._cache] == [short_url]
    assert "family:sqli" in classifier.tags(Request("GET", long_url, "Mozilla/5.0"))
