"""The quality gate: a rule that fires on a benign request may alert but may not ban.

Every request of the benign corpus (data/benign_requests.txt, built by scripts/build-benign-corpus
from the URL shapes of Debian's wordpress, mediawiki, phpmyadmin and roundcube-core and from the
producer's normal traffic) goes through the classifier. Each rule's tag (crs:, crowdsec:) that
fires on any of them gets the verdict "noban" in data/gate.csv, with how many
benign requests it matched and up to three of them. The classifier reads `demoted()` (gate_verdicts.py)
and emits those tags with the `noban:` prefix (tags.py). No rule is special-cased: a rule that matches
`/wp-login.php?action=register` is caught because that request is in the corpus.

Family tags follow the rules (a demoted CRS rule adds no family) and the family seeds, which must
match no benign request at all (tests/test_classify_gate.py); list tags say what a request is (a
login page, an admin path, a search engine's agent), and the detections that count them decide
with the status and the count. For the verdicts to be stable, the gate judges the classifier with
no demotion applied.

    python -m secmon.core.classify.gate     rewrites data/gate.csv from the corpus
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from secmon.core.classify.classifier import Classifier
from secmon.core.classify.gate_verdicts import NO_BAN_VERDICT, REPORT, demoted
from secmon.core.classify.request import Request
from secmon.core.classify.tags import CROWDSEC, CRS, NO_BAN

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "benign_requests.txt"
BAN_CAPABLE = frozenset({CRS, CROWDSEC})
COLUMNS = ("tag", "verdict", "benign_matches", "examples")
MAX_EXAMPLES = 3
ABSENT = "-"  # an absent User-Agent or Referer in the corpus, as access logs write it

TagsOf = Callable[[Request], Iterable[str]]


@dataclass(frozen=True)
class BenignRequest:
    request: Request
    source: str  # the package and version it was built from, or "producer"

    @property
    def example(self) -> str:
        return f"{self.request.method} {self.request.url} ({self.source})"


def parse_corpus_line(line: str) -> BenignRequest:
    """One corpus line: method, target, User-Agent, Referer, source, tab-separated."""
    fields = line.split("\t")
    if len(fields) != 5 or not all(fields):
        raise ValueError(f"expected 5 non-empty tab-separated fields, got {len(fields)}")
    method, target, agent, referer, source = fields
    if not target.startswith("/"):
        raise ValueError(f"the target {target[:80]!r} is not a path")
    request = Request(method, target, None if agent == ABSENT else agent, None if referer == ABSENT else referer)
    return BenignRequest(request, source)


def read_corpus(path: Path = CORPUS) -> list[BenignRequest]:
    """The corpus's requests in file order; `#` lines are comments."""
    requests = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            try:
                requests.append(parse_corpus_line(line))
            except ValueError as error:
                raise ValueError(f"{path}:{number}: {error}") from None
    return requests


def ban_capable(tag: str) -> str | None:
    """`tag` without its `noban:` prefix when its kind can ban, else None."""
    bare = tag.removeprefix(NO_BAN)
    kind, colon, _ = bare.partition(":")
    return bare if colon and kind in BAN_CAPABLE else None


@dataclass(frozen=True)
class Verdict:
    tag: str
    benign_matches: int
    examples: tuple[str, ...]  # up to MAX_EXAMPLES, from different sources first
    verdict: str = NO_BAN_VERDICT


@dataclass(frozen=True)
class GateResult:
    requests: int  # benign requests judged
    verdicts: tuple[Verdict, ...]  # one per ban-capable tag that fired, sorted by tag

    def demoted(self) -> frozenset[str]:
        return frozenset(verdict.tag for verdict in self.verdicts if verdict.verdict == NO_BAN_VERDICT)

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for verdict in self.verdicts:
            writer.writerow((verdict.tag, verdict.verdict, verdict.benign_matches, " | ".join(verdict.examples)))
        return out.getvalue()


class Examples:
    """The most telling benign requests a tag matched: the shortest of each source, then the shortest."""

    def __init__(self) -> None:
        self.by_source: dict[str, BenignRequest] = {}
        self.shortest: list[BenignRequest] = []

    def add(self, benign: BenignRequest) -> None:
        length = len(benign.request.url)
        kept = self.by_source.get(benign.source)
        if kept is None or length < len(kept.request.url):
            self.by_source[benign.source] = benign
        if len(self.shortest) < MAX_EXAMPLES or length < len(self.shortest[-1].request.url):
            self.shortest = sorted([*self.shortest, benign], key=lambda kept: len(kept.request.url))[:MAX_EXAMPLES]

    def chosen(self) -> tuple[str, ...]:
        """Up to MAX_EXAMPLES, from as many sources as there are."""
        picks = sorted(self.by_source.values(), key=lambda benign: len(benign.request.url))[:MAX_EXAMPLES]
        picks += [benign for benign in self.shortest if benign not in picks][: MAX_EXAMPLES - len(picks)]
        return tuple(benign.example for benign in picks)


def run_gate(tags_of: TagsOf, corpus_path: Path = CORPUS) -> GateResult:
    """Every benign request through `tags_of`; a verdict for each ban-capable tag that fires.

    `tags_of` should apply no demotion (see `classifier_tags_of`): the gate judges the rules themselves.
    """
    corpus = read_corpus(corpus_path)
    counts: dict[str, int] = {}
    examples: dict[str, Examples] = {}
    for benign in corpus:
        for tag in {bare for found in tags_of(benign.request) if (bare := ban_capable(found))}:
            counts[tag] = counts.get(tag, 0) + 1
            examples.setdefault(tag, Examples()).add(benign)
    verdicts = tuple(Verdict(tag, counts[tag], examples[tag].chosen()) for tag in sorted(counts))
    return GateResult(len(corpus), verdicts)


def classifier_tags_of() -> TagsOf:
    """The project's classifier with no demotion applied: what each rule matches on its own."""
    classifier = Classifier()
    classifier.demoted = frozenset()
    return classifier.tags


def write_gate(tags_of: TagsOf | None = None, corpus_path: Path = CORPUS, report_path: Path = REPORT) -> GateResult:
    """Runs the gate (with the project's classifier unless `tags_of` is given) and rewrites `report_path`."""
    result = run_gate(tags_of or classifier_tags_of(), corpus_path)
    report_path.write_text(result.csv_text(), encoding="utf-8")
    if report_path == REPORT:
        demoted.cache_clear()
    return result


def main() -> None:
    result = write_gate()
    print(f"{result.requests} benign requests; {len(result.demoted())} tags demoted; written to {REPORT}")
    for verdict in result.verdicts:
        print(f"  {verdict.tag}: {verdict.benign_matches}, e.g. {verdict.examples[0]}")


if __name__ == "__main__":
    main()
