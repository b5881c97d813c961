"""Classification at the edge against parsing alone, in one run: lines/s of `LineParser.parse` (what
follow and replay did before) and of parse + classify (`secmon.core.classify`), on one core.

The log is every request of the benign corpus (secmon/core/classify/data/benign_requests.txt: real
applications' URLs, agents and referers, all distinct) and the producer's attack payloads, written
as combined lines. "cold" classifies each request once (a log of distinct requests: no cache hit);
"warm" replays the same lines again (a log that repeats its requests, as real logs do). The goal of
issue 39 is parse + classify at >= 0.5x of parse alone. Last, each engine's cost per cold request.

Run: .venv/bin/python benchmarks/edge.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from secmon.core.classify.classifier import Classifier
from secmon.core.classify.gate import read_corpus
from secmon.core.logs.formats import LineParser

TIME = "12/Mar/2024:10:00:00 +0000"


def combined_lines() -> list[str]:
    lines = []
    for number, benign in enumerate(read_corpus()):
        request = benign.request
        address = f"198.51.{number // 250 % 250}.{number % 250 + 1}"
        lines.append(
            f'{address} - - [{TIME}] "{request.method} {request.url} HTTP/1.1" 200 512 '
            f'"{request.referer or "-"}" "{request.user_agent or "-"}"'
        )
    return lines


def rate(lines: list[str], work) -> float:
    started = time.perf_counter()
    for line in lines:
        work(line)
    return len(lines) / (time.perf_counter() - started)


def engine_costs(lines: list[str], parse) -> dict[str, float]:
    """Microseconds per distinct request in each engine (fresh Request objects: nothing derived cached)."""
    from secmon.core.classify import lists
    from secmon.core.classify.request import Request

    classifier = Classifier()
    events = [parse(line) for line in lines]
    engines = {
        "OWASP CRS": classifier.crs.match,
        "CrowdSec hub": classifier.crowdsec.match,
        "pattern lists": lists.list_tags,
        "family seeds": lists.family_tags,
    }
    costs = {}
    for name, match in engines.items():
        requests = [
            Request(event.http_method, event.url, event.user_agent, event.referrer, event.status_code)
            for event in events
        ]
        started = time.perf_counter()
        for request in requests:
            match(request)
        costs[name] = (time.perf_counter() - started) / len(requests) * 1e6
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs of each")
    args = parser.parse_args()
    lines = combined_lines()
    parse = LineParser("clf").parse
    parse_alone = max(rate(lines, parse) for _ in range(args.repeat))
    cold = []
    for _ in range(args.repeat):
        classifier = Classifier()  # a fresh one: no request seen before
        cold.append(rate(lines, lambda line, classify=classifier.event: classify(parse(line))))
    warm = rate(lines, lambda line, classify=classifier.event: classify(parse(line)))
    print(f"{len(lines):,} distinct requests (benign corpus), one core")
    print(f"parse alone:              {parse_alone:10,.0f} lines/s")
    print(f"parse + classify, cold:   {max(cold):10,.0f} lines/s  {max(cold) / parse_alone:.2f}x of parse alone")
    print(f"parse + classify, warm:   {warm:10,.0f} lines/s  {warm / parse_alone:.2f}x of parse alone")
    print(f"parse alone: {1e6 / parse_alone:.0f} µs/line; where a cold request's classification goes:")
    for name, micros in engine_costs(lines, parse).items():
        print(f"  {name:<14} {micros:8.0f} µs/request")


if __name__ == "__main__":
    main()
