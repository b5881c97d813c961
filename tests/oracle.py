"""An independent plain-Python computation of every metric view, to check the SQL against.

Each function maps the view's grain (a tuple) to the rest of its row (a tuple).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable

from secmon.core.events import Event

WINDOW_MS = 60_000
CATEGORIES = {
    "view_page": "page_visit",
    "navigate_page": "page_visit",
    "submit_form": "interaction",
    "login": "interaction",
    "logout": "interaction",
    "scroll_page": "content_interaction",
    "download_file": "content_interaction",
    "upload_file": "content_interaction",
    "close_window": "window_interaction",
    "open_new_tab": "window_interaction",
}


def window(event: Event) -> int:
    return event.request_timestamp // WINDOW_MS * WINDOW_MS


def grouped(events: Iterable[Event], key) -> dict[tuple, list[Event]]:
    groups: dict[tuple, list[Event]] = defaultdict(list)
    for event in events:
        groups[key(event)].append(event)
    return groups


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's PERCENTILE_CONT: linear interpolation between the two nearest ranks."""
    values = sorted(value for value in values if value is not None)
    if not values:
        return None
    position = fraction * (len(values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(values) - 1)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def mean(values: list) -> float | None:
    values = [value for value in values if value is not None]
    return statistics.fmean(values) if values else None


def website_user_metrics(events: list[Event]) -> dict[tuple, tuple]:
    rows = {}
    for (username, start), group in grouped(
        (e for e in events if e.username is not None), lambda e: (e.username, window(e))
    ).items():
        times = [e.response_time for e in group]
        known = [t for t in times if t is not None]
        rows[(username, start)] = (
            len(group),
            min(known, default=None),
            max(known, default=None),
            mean(times),
            percentile_cont(times, 0.5),
            sum(e.status_code >= 400 for e in group),
            sum(e.user_action == "login" for e in group),
            sum(e.user_action == "logout" for e in group),
            len({e.ip_address for e in group}),
        )
    return rows


def top_user_actions(events: list[Event]) -> dict[tuple, tuple]:
    rows = {}
    for (start,), group in grouped(events, lambda e: (window(e),)).items():
        counts = Counter(e.user_action for e in group)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
        for rank, (action, count) in enumerate(ranked, start=1):
            rows[(start, rank)] = (action, count)
    return rows


def referrer_activity_summary(events: list[Event]) -> dict[tuple, tuple]:
    rows = {}
    for (referrer, start), group in grouped(events, lambda e: (e.referrer, window(e))).items():
        categories = Counter(CATEGORIES[e.user_action] for e in group)
        rows[(referrer, start)] = (
            len(group),
            categories["page_visit"],
            categories["interaction"],
            categories["content_interaction"],
            categories["window_interaction"],
        )
    return rows


def status_code_analysis_summary(events: list[Event]) -> dict[tuple, tuple]:
    rows = {}
    for (start,), group in grouped(events, lambda e: (window(e),)).items():
        by_status = grouped(group, lambda e: (e.status_code,))
        running = 0
        for (status,) in sorted(by_status):
            members = by_status[(status,)]
            running += len(members)
            rows[(status, start)] = (
                len(members),
                mean([e.response_time for e in members]),
                running,
                100.0 * running / len(group),
            )
    return rows


def security_level_analysis_summary(events: list[Event]) -> dict[tuple, tuple]:
    rows = {}
    for (level, start), group in grouped(events, lambda e: (e.security_level, window(e))).items():
        times = [e.response_time for e in group]
        rows[(level, start)] = (len(group), mean(times), percentile_cont(times, 0.5), level)
    return rows


# view name → (oracle, SQL select list giving the grain columns then the value columns)
VIEWS = {
    "website_user_metrics": (
        website_user_metrics,
        "username, window_start, total_requests, min_response_time, max_response_time, avg_response_time, "
        "median_response_time, total_errors, login_count, logout_count, unique_ips",
        2,
    ),
    "top_user_actions": (top_user_actions, "window_start, action_rank, user_action, count_user_activity", 2),
    "referrer_activity_summary": (
        referrer_activity_summary,
        "referrer, window_start, referrer_visit_count, page_visits, interactions, content_interactions, "
        "window_interactions",
        2,
    ),
    "status_code_analysis_summary": (
        status_code_analysis_summary,
        "status_code, window_start, count_status_code, avg_response_time, cumulative_count, cumulative_percentage",
        2,
    ),
    "security_level_analysis_summary": (
        security_level_analysis_summary,
        "security_level, window_start, count_security_level, avg_response_time, median_response_time, "
        "median_count_security_level",
        2,
    ),
}


def _normalise(value):
    if hasattr(value, "timestamp"):
        return int(value.timestamp() * 1000)
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def _same(actual, expected) -> bool:
    if isinstance(actual, float) or isinstance(expected, float):
        return actual is not None and expected is not None and abs(actual - expected) <= 1e-9 * max(1.0, abs(expected))
    return actual == expected


def assert_view_matches(cursor, relation: str, view: str, events: list[Event]) -> None:
    """The rows of `relation` (the view `view`, possibly schema-qualified) equal the oracle's:
    the same grain keys, exact counts, floats within 1e-9."""
    compute, columns, grain = VIEWS[view]
    cursor.execute(f"select {columns} from {relation}")
    actual = {}
    for row in cursor.fetchall():
        row = tuple(map(_normalise, row))
        actual[row[:grain]] = row[grain:]
    expected = compute(events)
    assert actual.keys() == expected.keys(), view
    mismatches = [
        (key, actual[key], values)
        for key, values in expected.items()
        if not all(_same(a, b) for a, b in zip(actual[key], values))
    ]
    assert mismatches == [], view
