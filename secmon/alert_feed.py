"""The `security_alerts` topic as people read it: each alert once, and where its address is from."""

from __future__ import annotations

import json
from collections.abc import Iterator

from secmon import settings


def distinct_alerts(bootstrap_servers: str, follow: bool) -> Iterator[tuple[bytes, dict]]:
    """Every alert on the topic as (its message, its fields), each alert_id once: RisingWave's sink is
    at-least-once."""
    from secmon.engine.alerts import read_topic

    seen = set()
    for raw in read_topic(bootstrap_servers, settings.ALERTS_TOPIC, follow=follow):
        alert = json.loads(raw)
        if alert["alert_id"] in seen:
            continue
        seen.add(alert["alert_id"])
        yield raw, alert


def origin(address: str) -> str:
    """`FR, OVH SAS` from the offline database, or `unknown`: never a guess."""
    from secmon.enrich import default_lookup

    info = default_lookup()(address)
    return ", ".join(part for part in (info.country_code, info.as_name) if part) or "unknown"
