"""A traffic mix: normal sessions plus scheduled attacks, as one time-ordered stream with labels."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterator

from .attacks import SCENARIOS, AttackKit, Label, attack
from .event import Event
from .traffic import NormalTraffic, merge_timeline

MINUTE_MS = 60_000
# Sessions run for minutes: the simulation starts this much earlier, so that traffic is already at
# its steady rate at the first published event.
WARMUP_MS = 3 * MINUTE_MS


@dataclass(frozen=True)
class Mix:
    rate: float = 100.0  # normal events per second
    seed: int = 1
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    attacks_per_scenario: int | None = None  # default: one per scenario per 10 minutes, at least one
    users: int | None = None


@dataclass
class Plan:
    """What a run will publish: `events()` streams them; `labels` are known up front."""

    traffic: NormalTraffic | None
    start_ms: int
    end_ms: int
    labels: list[Label]
    attack_events: list[list[Event]] = field(repr=False)

    def events(self) -> Iterator[Event]:
        return merge_timeline(self.traffic, self.start_ms, self.end_ms, self.attack_events, WARMUP_MS)


def plan(mix: Mix, start_ms: int, duration_ms: int) -> Plan:
    unknown = sorted(set(mix.scenarios) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    rng = random.Random(mix.seed)
    traffic = NormalTraffic.at_rate(rng, mix.rate, mix.users) if mix.rate > 0 else None
    population = traffic.population if traffic else NormalTraffic.at_rate(rng, 1.0, mix.users).population
    kit = AttackKit(rng, population)
    end_ms = start_ms + duration_ms
    count = mix.attacks_per_scenario
    if count is None:
        count = max(1, duration_ms // (10 * MINUTE_MS))
    # Attacks start in the first 80% of the run; events past its end are cut off.
    latest_start = start_ms + duration_ms * 4 // 5
    labels, streams = [], []
    for scenario in mix.scenarios:
        for _ in range(count):
            label, events = attack(kit, scenario, rng.randrange(start_ms, latest_start + 1))
            events = [event for event in events if event.request_timestamp < end_ms]
            labels.append(_relabel(label, events))
            streams.append(events)
    return Plan(traffic, start_ms, end_ms, labels, streams)


def _relabel(label: Label, events: list[Event]) -> Label:
    return Label(label.scenario, label.attacker_ip, label.target_username, events[0].request_timestamp,
                 events[-1].request_timestamp, len(events))
