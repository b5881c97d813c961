"""A traffic mix: normal sessions plus scheduled attacks, as one time-ordered stream with labels.

Attacks are planned as the timeline reaches them, one slot at a time, so a run's memory does not
depend on its duration: a realtime run of a year, or one without end, holds what a ten-minute one does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

from secmon.core.events import Event

from . import site
from .attacks import SCENARIOS, AttackKit, Label, attack
from .traffic import NormalTraffic, merge_timeline

MINUTE_MS = 60_000
# Sessions run for minutes: the simulation starts this much earlier, so that traffic is already at
# its steady rate at the first published event.
WARMUP_MS = 3 * MINUTE_MS
# Without --attacks: one attack per scenario in every slot of this length.
ATTACK_SLOT_MS = 10 * MINUTE_MS
# An attack starts in the first part of its slot, so that it mostly plays out inside it.
ATTACK_START_SHARE = 0.8


@dataclass(frozen=True)
class Mix:
    rate: float = 100.0  # normal events per second
    seed: int = 1
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    attacks_per_scenario: int | None = None  # default: one per scenario per 10 minutes, at least one
    users: int | None = None


@dataclass
class Plan:
    """What a run will publish, generated as it is read: `events()` streams the events in time order.

    `end_ms` is math.inf for a run without end. The attacks draw on a random source of their own, so
    `labels` (finite plans only) can be listed without generating the traffic.
    """

    mix: Mix
    start_ms: int
    end_ms: float

    @property
    def slots(self) -> tuple[int, float]:
        """(number of attack slots, slot length in ms): each scenario attacks once per slot."""
        if self.end_ms == math.inf:
            return (math.inf if self.mix.attacks_per_scenario is None else 0), ATTACK_SLOT_MS
        duration = self.end_ms - self.start_ms
        count = self.mix.attacks_per_scenario
        if count is None:
            count = max(1, int(duration // ATTACK_SLOT_MS))
        return count, duration / max(count, 1)

    def _attacks(self) -> Iterator[tuple[Label, list[Event]]]:
        """Every attack in order of its first event, planned one slot at a time."""
        rng = random.Random(f"attacks-{self.mix.seed}")
        kit = AttackKit(rng, site.build_population(random.Random(self.mix.seed), self._users()))
        count, slot_ms = self.slots
        number = 0
        while number < count:
            slot_start = self.start_ms + number * slot_ms
            starts = sorted(
                (int(slot_start + rng.random() * slot_ms * ATTACK_START_SHARE), scenario)
                for scenario in self.mix.scenarios
            )
            for start_ms, scenario in starts:
                label, events = attack(kit, scenario, start_ms)
                events = [event for event in events if event.request_timestamp < self.end_ms]
                yield (
                    Label(
                        label.scenario,
                        label.attacker_ip,
                        label.target_username,
                        events[0].request_timestamp,
                        events[-1].request_timestamp,
                        len(events),
                    ),
                    events,
                )
            number += 1

    def _users(self) -> int:
        """Registered users: --users, or 20 per event/s of normal traffic (at least 500)."""
        return self.mix.users or max(500, int(self.mix.rate * 20))

    def events(self, on_label: Callable[[Label], None] | None = None) -> Iterator[Event]:
        """The events in time order; `on_label` gets each attack's label when the attack is planned,
        before its first event is yielded."""
        traffic = None
        if self.mix.rate > 0:
            traffic = NormalTraffic.at_rate(random.Random(self.mix.seed), self.mix.rate, self._users())

        def scripted() -> Iterator[list[Event]]:
            for label, events in self._attacks():
                if on_label is not None:
                    on_label(label)
                yield events

        return merge_timeline(traffic, self.start_ms, self.end_ms, scripted(), WARMUP_MS)

    @cached_property
    def labels(self) -> list[Label]:
        if self.end_ms == math.inf:
            raise ValueError("a plan without end has no complete list of labels")
        return [label for label, _ in self._attacks()]


def plan(mix: Mix, start_ms: int, duration_ms: float) -> Plan:
    """The plan for `duration_ms` from `start_ms`; `duration_ms` may be math.inf (until stopped)."""
    unknown = sorted(set(mix.scenarios) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if duration_ms == math.inf and mix.attacks_per_scenario:
        raise ValueError("a run without end takes attacks one per scenario per 10 minutes, not a count")
    return Plan(mix, start_ms, start_ms + duration_ms)
