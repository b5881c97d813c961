"""Per-family figures of the classifier, on corpora we keep: for each producer attack scenario of a
payload family, the share of its requests tagged with that family (recall per request), and for the
benign corpus (secmon/core/classify/data/benign_requests.txt: Debian's wordpress, mediawiki,
phpmyadmin, roundcube and the producer's normal traffic) the share tagged with any family, and
which rules the gate demoted.

Run: .venv/bin/python benchmarks/families.py [--attacks 20]
"""

from __future__ import annotations

import argparse
from collections import Counter

from secmon.core.classify.classifier import default_classifier
from secmon.core.classify.gate import read_corpus
from secmon.core.classify.tags import FAMILY
from secmon.producer.attacks import FAMILY_PAYLOADS
from secmon.producer.generate import Mix, plan

START_MS = 1_706_184_000_000  # 2024-01-25T12:00:00Z
# Producer scenarios whose requests all carry a payload of one family, and that family.
FAMILY_OF_SCENARIO = {
    "sqli_probing": "sqli",
    "xss_probing": "xss",
    "path_traversal": "path_traversal",
    "ssi_injection": "ssi",
    "crlf_injection": "crlf",
    "command_injection": "command_injection",
    "rfi_injection": "rfi",
    "php_injection": "php",
    "node_injection": "node",
    "java_injection": "java",
    "session_fixation": "session_fixation",
    "ldap_injection": "ldap",
    "generic_injection": "generic",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attacks", type=int, default=20, help="attacks per scenario")
    args = parser.parse_args()
    assert set(FAMILY_PAYLOADS) <= set(FAMILY_OF_SCENARIO)
    classifier = default_classifier()
    traffic = plan(
        Mix(rate=1, seed=7, scenarios=tuple(FAMILY_OF_SCENARIO), attacks_per_scenario=args.attacks),
        START_MS,
        3_600_000,
    )
    events = list(traffic.events())
    scenario_of = {label.attacker_ip: label.scenario for label in traffic.labels}
    requests, tagged = Counter(), Counter()
    for event in events:
        if (scenario := scenario_of.get(event.ip_address)) is None:
            continue
        requests[scenario] += 1
        tagged[scenario] += f"{FAMILY}:{FAMILY_OF_SCENARIO[scenario]}" in classifier.event(event).tags
    print(f"{'scenario':<20} {'family':<18} {'requests':>8} {'recall':>7}")
    for scenario, family in FAMILY_OF_SCENARIO.items():
        if requests[scenario]:
            print(f"{scenario:<20} {family:<18} {requests[scenario]:>8} {tagged[scenario] / requests[scenario]:>7.2f}")
    benign = read_corpus()
    flagged = Counter(
        tag for request in benign for tag in classifier.tags(request.request) if tag.startswith(f"{FAMILY}:")
    )
    print(f"benign corpus: {len(benign):,} requests; tagged with a family: {sum(flagged.values())} {dict(flagged)}")
    print(f"rules demoted by the gate: {sorted(classifier.demoted)}")


if __name__ == "__main__":
    main()
