"""alert_id covers each detection's grain: two IPs taking over one account in one window are two
alerts with two ids (and two Kafka keys), not one id that a consumer dropping repeats would merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from secmon import settings
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import LANDING_TABLE, ensure_landing_table

SCHEMA = "alert_grain"
WINDOW_START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def takeover(ip: str, offset: int) -> list[tuple]:
    """Five failed logins on alice from `ip`, then a successful one, inside one window."""
    rows = []
    for attempt in range(6):
        status = 401 if attempt < 5 else 200
        rows.append(
            (
                WINDOW_START + timedelta(minutes=1, seconds=offset + attempt),
                ip,
                "Mozilla/5.0",
                "/login",
                "POST",
                status,
                30,
                "direct",
                None,
                "alice",
                "login",
                "high",
                0,
                offset + attempt,
            )
        )
    return rows


@pytest.fixture
def alert_ids(endpoints, monkeypatch) -> list[tuple[str, str]]:
    monkeypatch.setenv(settings.ENV_PG_SCHEMA, SCHEMA)
    ensure_landing_table(endpoints)
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"truncate {SCHEMA}.{LANDING_TABLE}")
        cur.executemany(
            f"insert into {SCHEMA}.{LANDING_TABLE} (request_timestamp, ip_address, user_agent, url, http_method, "
            "status_code, response_time, referrer, user_id, username, user_action, security_level, kafka_partition, "
            "kafka_offset) values (" + ", ".join(["%s"] * 14) + ")",
            takeover("203.0.113.7", 0) + takeover("198.51.100.9", 100),
        )
    conn.close()
    assert run_dbt(["run", "-t", "local", "--quiet", "-s", settings.ALERTS_TABLE, "1+account_takeover"], endpoints) == 0
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            f"select alert_id, example from {SCHEMA}.{settings.ALERTS_TABLE} where detection = 'account_takeover'"
        )
        rows = cur.fetchall()
    conn.close()
    return rows


def test_two_ips_on_one_account_in_one_window_are_two_alerts(alert_ids):
    assert sorted(example for _, example in alert_ids) == ["198.51.100.9", "203.0.113.7"]
    assert len({alert_id for alert_id, _ in alert_ids}) == 2
