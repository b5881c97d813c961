"""Normal website traffic: visitor sessions arriving at a steady rate, merged in time order."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator

from secmon.core.events import Event

from . import site
from .site import Endpoint, Population, Site

# Seconds a visitor spends between two pages: log-normal, median 6 s, at most 5 minutes.
THINK_MU, THINK_SIGMA, THINK_MAX_MS = math.log(6.0), 0.9, 300_000
NORMAL_TABLE_SIZE = 8192


class NormalTraffic:
    """Sessions of signed-in users (login → browse → logout), anonymous visitors and crawlers."""

    def __init__(self, rng: random.Random, population: Population, sessions_per_second: float) -> None:
        self.rng = rng
        self.site = Site(rng)
        self.random = rng.random
        self.url = self.site.url
        # Standard normal draws, looked up with one random(): a third of the cost of rng.gauss(),
        # which would otherwise be the generator's largest single cost.
        self.normals = tuple(rng.gauss() for _ in range(NORMAL_TABLE_SIZE))
        self.population = population
        self.sessions_per_ms = sessions_per_second / 1000.0

    @classmethod
    def at_rate(cls, rng: random.Random, rate: float, users: int) -> NormalTraffic:
        """Traffic averaging `rate` events per second from `users` accounts."""
        population = site.build_population(rng, users)
        probe = cls(random.Random(0), population, 0.0)
        sessions = 2000
        mean_length = sum(len(probe.session(0)) for _ in range(sessions)) / sessions
        return cls(rng, population, rate / mean_length)

    def _event(
        self,
        ts: int,
        ip: str,
        agent: str,
        endpoint: Endpoint,
        status: int,
        referrer: str,
        user_id: str | None,
        username: str | None,
    ) -> Event:
        normal = self.normals[int(self.random() * NORMAL_TABLE_SIZE)]
        response_time = int(math.exp(endpoint.mu + endpoint.sigma * normal)) + 1
        return Event(
            ts,
            ip,
            agent,
            self.url(endpoint),
            endpoint.method,
            status,
            response_time,
            referrer,
            user_id,
            username,
            endpoint.action,
            endpoint.security_level,
        )

    def session(self, start_ms: int) -> list[Event]:
        roll = self.rng.random()
        pick = self.site.pick
        if roll < 0.03:
            return self._crawl(start_ms)
        if roll < 0.30:
            ip, agent = pick(self.population.anonymous)
            return self._browse(start_ms, ip, agent, None)
        user = pick(self.population.users)
        ip, agent = pick(user.devices)
        return self._browse(start_ms, ip, agent, user)

    def _think(self, ts: int) -> int:
        normal = self.normals[int(self.random() * NORMAL_TABLE_SIZE)]
        return ts + min(THINK_MAX_MS, int(math.exp(THINK_MU + THINK_SIGMA * normal) * 1000)) + 1

    def _browse(self, ts: int, ip: str, agent: str, user: site.User | None) -> list[Event]:
        rng, page_status = self.rng, self.site.page_status
        events: list[Event] = []
        emit = events.append
        referrer = self.site.first_referrer()
        user_id = username = None
        if user is not None and rng.random() < 0.75:
            emit(self._event(ts, ip, agent, site.LOGIN_PAGE, 200, referrer, None, None))
            referrer = "internal"
            ts = self._think(ts)
            if rng.random() < 0.04:  # a mistyped password, then the right one
                emit(self._event(ts, ip, agent, site.LOGIN, 401, referrer, None, user.username))
                ts = self._think(ts)
            emit(self._event(ts, ip, agent, site.LOGIN, 302, referrer, user.user_id, user.username))
            user_id, username = user.user_id, user.username
            ts = self._think(ts)
        for _ in range(min(60, int(rng.expovariate(1 / 9)) + 1)):
            endpoint = self.site.browsing_step()
            emit(self._event(ts, ip, agent, endpoint, page_status(endpoint), referrer, user_id, username))
            referrer = "internal"
            if endpoint.method == "GET" and rng.random() < 0.3:
                for asset in rng.sample(site.STATIC_ASSETS, rng.randrange(1, 3)):
                    ts += rng.randrange(5, 60)
                    status = 304 if rng.random() < 0.4 else 200
                    emit(self._event(ts, ip, agent, asset, status, referrer, user_id, username))
            ts = self._think(ts)
        if user_id is not None and rng.random() < 0.6:
            emit(self._event(ts, ip, agent, site.LOGOUT, 302, referrer, user_id, username))
        elif rng.random() < 0.3:
            emit(self._event(ts, ip, agent, site.CLOSE_WINDOW, 204, referrer, user_id, username))
        return events

    def _crawl(self, ts: int) -> list[Event]:
        ip, agent = self.rng.choice(self.population.crawlers)
        events = []
        for _ in range(self.rng.randrange(5, 40)):
            endpoint = self.site.browsing_step()
            if endpoint.method == "GET":
                status = 404 if self.random() < 0.01 else 200  # crawlers follow the sitemap: few misses
                events.append(self._event(ts, ip, agent, endpoint, status, "direct", None, None))
            ts += self.rng.randrange(1500, 6000)
        return events


def merge_timeline(
    traffic: NormalTraffic | None,
    start_ms: int,
    end_ms: float,
    scripted: Iterable[list[Event]] = (),
    warmup_ms: int = 0,
) -> Iterator[Event]:
    """All events in [start_ms, end_ms) in time order: sessions arriving as a Poisson process from
    `start_ms - warmup_ms` (so that traffic is steady at `start_ms`), merged with `scripted` event
    lists (attacks), which come in order of their first event and are read only when the timeline
    reaches them.

    Events wait in one bucket per second. A session starting at T has no event before T, so once
    the arrivals pass second S, bucket S is complete: it is sorted and emitted. Cheaper than a heap
    of per-session generators, and memory holds only the sessions and attacks still running.
    """
    buckets: defaultdict[int, list[Event]] = defaultdict(list)
    scripted = iter(scripted)
    upcoming = next(scripted, None)
    emitted_until = (start_ms - warmup_ms) // 1000  # every bucket below this second has been emitted
    next_arrival = float(start_ms - warmup_ms) if traffic else math.inf
    last_second = math.ceil(end_ms / 1000) if end_ms != math.inf else math.inf
    while emitted_until < last_second:
        if next_arrival < end_ms:
            for event in traffic.session(int(next_arrival)):
                buckets[event.request_timestamp // 1000].append(event)
            next_arrival += traffic.rng.expovariate(traffic.sessions_per_ms)
            complete_before = min(int(next_arrival) // 1000, last_second)
        elif upcoming is not None:
            complete_before = min(upcoming[0].request_timestamp // 1000 + 1, last_second)
        else:
            complete_before = min(last_second, max(buckets, default=emitted_until) + 1)
        while upcoming is not None and upcoming[0].request_timestamp // 1000 < complete_before:
            for event in upcoming:
                buckets[event.request_timestamp // 1000].append(event)
            upcoming = next(scripted, None)
        while emitted_until < complete_before:
            bucket = buckets.pop(emitted_until, None)
            emitted_until += 1
            if bucket and emitted_until * 1000 > start_ms:
                bucket.sort()
                for event in bucket:
                    if event.request_timestamp >= end_ms:
                        return
                    if event.request_timestamp >= start_ms:
                        yield event
        if next_arrival == math.inf and upcoming is None and not buckets:
            return
