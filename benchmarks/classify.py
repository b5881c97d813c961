"""CRS classification speed: requests/s of `CrsRuleSet.match` with its patterns in one hyperscan database
(the default), in one re2.Set, and with every rule evaluated on its own (the naive loop), on the
producer's normal traffic and on its attack traffic plus classic payloads. Ratios are against the
naive loop measured in the same run. "memo across requests" is what CrsRuleSet.load gives: transformed
values, scans and verdicts kept across requests (a log repeats its User-Agents and URLs).

Run: .venv/bin/python benchmarks/classify.py [--paranoia 1] [--requests 3000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from secmon.core.classify.crs import CrsRuleSet, Re2Scanner
from secmon.core.classify.request import Request
from secmon.producer.generate import Mix, plan

START_MS = 1_706_184_000_000  # 2024-01-25T12:00:00Z
PAYLOADS = [
    "/?id=1%27%20or%20%271%27%3D%271",
    "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/?file=../../../../etc/passwd",
    "/?cmd=;cat%20/etc/passwd",
    "/?a=%3C%3Fphp%20system(%27id%27);%20%3F%3E",
    "/?u=http://169.254.169.254/latest/meta-data/",
    "/?x=%0d%0aSet-Cookie:%20a=b",
    "/?__proto__[admin]=1",
    "/?id=1+union+select+password+from+users--",
]


def traffic(requests: int) -> tuple[list[Request], list[Request]]:
    events = list(plan(Mix(rate=100, seed=11, attacks_per_scenario=4), START_MS, 30 * 60_000).events())
    labels = plan(Mix(rate=100, seed=11, attacks_per_scenario=4), START_MS, 30 * 60_000).labels
    attackers = {label.attacker_ip for label in labels}
    as_request = lambda e: Request(e.http_method, e.url, e.user_agent, e.referrer)  # noqa: E731
    normal = [as_request(e) for e in events if e.ip_address not in attackers][:requests]
    attacks = [as_request(e) for e in events if e.ip_address in attackers][:requests]
    attacks += [Request("GET", url, "Mozilla/5.0") for url in PAYLOADS] * 20
    return normal, attacks


def rate(match: Callable[[Request], frozenset[str]], requests: list[Request]) -> float:
    start = time.perf_counter()
    for request in requests:
        match(request)
    return len(requests) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paranoia", type=int, default=1)
    parser.add_argument("--requests", type=int, default=3000)
    options = parser.parse_args()
    normal, attacks = traffic(options.requests)
    re2_rules = CrsRuleSet.parse(options.paranoia, scanner=Re2Scanner)
    hyperscan_rules = CrsRuleSet.parse(options.paranoia)
    refused = len(hyperscan_rules.scan.scanner.refused)
    print(f"PL{options.paranoia}: {len(re2_rules.loaded)} rules, {len(re2_rules.scan.groups)} transformation chains;")
    print(f"hyperscan refuses {refused} patterns (their rules run on their own)")
    remembering = CrsRuleSet.parse(options.paranoia, memo_limit=100_000)
    engines = {
        "hyperscan + memo across requests": remembering.match,
        "re2.Set": re2_rules.match,
        "hyperscan": hyperscan_rules.match,
        "naive loop": re2_rules.match_each,
    }
    for name, requests in (("normal", normal), ("attacks", attacks)):
        for engine in engines.values():
            engine(requests[0])  # warm the lazy regexes
        rates = {engine: rate(match, requests) for engine, match in engines.items()}
        naive = rates["naive loop"]
        figures = ", ".join(f"{engine} {value:,.0f}/s ({value / naive:.2f}x)" for engine, value in rates.items())
        print(f"{name} ({len(requests)} requests): {figures}")
    agree = sum(re2_rules.match(r) == hyperscan_rules.match(r) for r in attacks)
    print(f"re2.Set and hyperscan agree on {agree} of {len(attacks)} attack requests")


if __name__ == "__main__":
    main()
