"""crowdsec_burst against CrowdSec's leaky bucket: a Python simulation of the bucket (the reference,
used here only) and the bucket_overflows macro over hop() windows, on the local engine, for the
hub's WordPress login bucket (capacity 5, one leaking every 10 s).

The SQL is sound by construction (it fires only on a certain overflow) and complete for bursts that
overflow the bucket by a clear margin; between the two lies the band where they disagree, measured
in the last test."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import cache

import psycopg2
from hypothesis import given, settings
from hypothesis import strategies as st

from secmon.core.classify.dbt_macro import hub_buckets
from secmon.dbt_runner import compile_inline
from secmon.settings import dbt_vars, interval_ms

BUCKET = "crowdsecurity/http-bf-wordpress_bf"
CAPACITY, LEAK_SECONDS = next((capacity, leak) for name, _, capacity, leak in hub_buckets() if name == BUCKET)
SPAN, SLIDE = (interval_ms(dbt_vars()[name]) // 1000 for name in ("crowdsec_burst_window", "crowdsec_burst_slide"))
START = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)


def simulated_overflows(seconds: list[float]) -> int:
    """How many requests CrowdSec's bucket refuses (it overflows at the first): a token bucket holding
    `capacity`, refilled one token every `leakspeed` (golang.org/x/time/rate, as its leaky buckets use)."""
    tokens, last, refused = float(CAPACITY), None, 0
    for second in sorted(seconds):
        if last is not None:
            tokens = min(CAPACITY, tokens + (second - last) / LEAK_SECONDS)
        last = second
        if tokens >= 1:
            tokens -= 1
        else:
            refused += 1
    return refused


@cache
def overflow_query(endpoints) -> str:
    """crowdsec_burst's windows, as (IP, window start) of each alert on the WordPress login bucket."""
    windows = f"hop('login_posts', 'request_timestamp', {SLIDE}, {SPAN})"
    return compile_inline(
        f"select ip_address, window_start from ({{{{ bucket_overflows({windows}, {SPAN}, {SLIDE}) }}}}) as overflows"
        f" where overflowed like '%{BUCKET}%'",
        endpoints,
    )


def alerts_on(endpoints, attempts: dict[str, list[float]]) -> list[tuple[str, datetime]]:
    """The alerts on IPs whose POSTs to wp-login.php, answered 200, came at these seconds."""
    rows = [  # tagged as the classifier tags a POST to wp-login.php
        (START + timedelta(seconds=second), ip, "/wp-login.php", "POST", 200, "Mozilla/5.0", [f"bucket:{BUCKET}"])
        for ip, seconds in attempts.items()
        for second in seconds
    ]
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            "create temporary table login_posts (request_timestamp timestamptz, ip_address text, url text,"
            " http_method text, status_code integer, user_agent text, tags varchar[])"
        )
        cur.executemany("insert into login_posts values (%s, %s, %s, %s, %s, %s, %s)", rows)
        cur.execute(overflow_query(endpoints))
        found = cur.fetchall()
    conn.close()
    return found


def sql_overflows(endpoints, attempts: dict[str, list[float]]) -> set[str]:
    return {ip for ip, _ in alerts_on(endpoints, attempts)}


def threshold() -> int:
    return int(CAPACITY + SPAN / LEAK_SECONDS) + 1


seconds_within = st.floats(min_value=0, max_value=55, allow_nan=False).flatmap(
    lambda start: st.lists(st.floats(min_value=start, max_value=start + 120, allow_nan=False), max_size=30)
)


@settings(max_examples=40, deadline=None)
@given(seconds=seconds_within)
def test_it_fires_only_when_the_bucket_overflows(endpoints, seconds):
    if sql_overflows(endpoints, {"203.0.113.1": seconds}):
        assert simulated_overflows(seconds) > 0


@settings(max_examples=40, deadline=None)
@given(
    start=st.floats(min_value=0, max_value=55, allow_nan=False),
    offsets=st.lists(st.floats(min_value=0, max_value=SPAN - SLIDE, allow_nan=False), min_size=1, max_size=20),
)
def test_a_burst_that_overflows_by_a_clear_margin_fires(endpoints, start, offsets):
    """A burst no longer than span - slide that the bucket refuses twice or more (nine POSTs in one
    second is four refusals) raises the alert, wherever it falls against the windows."""
    seconds = [start + offset for offset in offsets]
    fired = bool(sql_overflows(endpoints, {"203.0.113.1": seconds}))
    if simulated_overflows(seconds) >= 2:
        assert fired
    assert fired == (len(seconds) >= threshold())


def test_the_band_where_sql_and_bucket_disagree_is_measured(endpoints):
    """Random attackers, bursts and slow ones: every alert is an overflow; the overflows it misses are
    the slow ones (for login_brute_force's long window) and bursts within a request of the capacity."""
    rng = random.Random(7)
    attempts = {}
    for n in range(300):
        count, duration = rng.randint(1, 25), rng.choice([1, 5, 10, 30, 120])
        start = rng.uniform(0, 60)
        attempts[f"10.0.{n // 256}.{n % 256}"] = [start + rng.uniform(0, duration) for _ in range(count)]
    fired = sql_overflows(endpoints, attempts)
    overflowed = {ip for ip, seconds in attempts.items() if simulated_overflows(seconds)}
    assert fired <= overflowed
    missed = overflowed - fired
    fast_misses = [ip for ip in missed if max(attempts[ip]) - min(attempts[ip]) <= SPAN - SLIDE]
    print(
        f"leaky bucket vs crowdsec_burst on 300 attackers: {len(overflowed)} overflow, {len(fired)} alerted, "
        f"{len(missed)} missed ({len(fast_misses)} of them bursts of <= {SPAN - SLIDE} s)"
    )
    assert all(simulated_overflows(attempts[ip]) == 1 for ip in fast_misses), "a burst refused twice was missed"
    assert len(fired) >= len(overflowed) / 2


def alerting_windows(endpoints, seconds: list[float]) -> int:
    return len(alerts_on(endpoints, {"203.0.113.1": seconds}))


def test_one_burst_raises_one_alert_and_a_flood_one_when_it_starts(endpoints):
    """Nine POSTs in one second lie in two overlapping windows: one alert. Ten a second for a minute: one."""
    assert alerting_windows(endpoints, [32 + i / 9 for i in range(9)]) == 1
    assert alerting_windows(endpoints, [30 + i / 10 for i in range(600)]) == 1
    assert alerting_windows(endpoints, [30 + i / 9 for i in range(9)] + [90 + i / 9 for i in range(9)]) == 2


def test_nine_logins_in_one_second_fire_and_five_do_not(endpoints):
    assert sql_overflows(endpoints, {"203.0.113.1": [30 + i / 9 for i in range(9)]}) == {"203.0.113.1"}
    assert sql_overflows(endpoints, {"203.0.113.2": [30 + i / 5 for i in range(5)]}) == set()
