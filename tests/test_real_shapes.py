"""Bans that spare the innocent (issue 40), on logs shaped like real sites' (tests/data/real_shapes/make.py
writes them): a blog whose attachments (`named.conf`, `sample.log`, `.sql`) are served to readers and
search engines, a WordPress with registration open and its own wp-cron and Wordfence self-requests, a
news site crawled hard by search engines and SEO crawlers. Each is replayed through `secmon replay` and
the local engine on a stack of its own, and the alerts are judged by the ban policy as `secmon decisions`
reads it (BanPolicy.from_project): an alert bans when it is on an IP and its policy gives it a duration.

Per log: every attack address listed in ATTACKS raises its alerts and is banned; no other address (a
verified crawler, a reader who downloaded the site's files, the server itself, any visitor who sent no
attack payload, exploit probe or brute force) gets a high or critical alert, let alone a ban."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg2
import pytest
from click.testing import CliRunner
from support import close_every_window

from secmon import settings, stack
from secmon.cli import cli
from secmon.core.endpoints import recorded_endpoints
from secmon.dbt_runner import run_dbt
from secmon.decisions.policy import BanPolicy
from secmon.engine.ingest import ensure_landing_table
from secmon.engine.stream import Stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOGS = Path(__file__).parent / "data" / "real_shapes"
PORTS = {"kafka_port": 29411, "pg_port": 29412}  # this module's own stack
# The attacks each log holds: address → the detections it must raise (at least these).
ATTACKS: dict[str, dict[str, set[str]]] = {
    "blog.log": {
        # a scanner's file:// probes: CRS 930120 (an OS file), 932160 (a Unix shell path)
        "45.155.205.233": {"path_traversal", "command_injection", "web_attack"},
        "193.41.206.161": {"sensitive_files", "web_attack"},  # .env, .git/config and the like, answered 404
    },
    "wordpress.log": {
        # 30 POSTs to wp-login.php in a minute, one every 2 s: too slow for crowdsec_burst's 10 s span
        "141.98.11.23": {"login_brute_force"},
        "194.180.49.117": {"login_brute_force"},  # xmlrpc.php multicall, 40 POSTs in 200 s
    },
    "news.log": {
        "92.184.105.77": {"sqli_probing", "web_attack"},  # a fake Googlebot from a residential address
    },
}
INNOCENT_CASES = sorted(ATTACKS)
WORDPRESS_SERVER = "51.91.237.18"  # the WordPress host's own address: wp-cron, Wordfence's self-test
# Google's and Bing's published crawler ranges, where the logs' Googlebot and bingbot come from.
VERIFIED_CRAWLER = re.compile(r"^(66\.249\.(64|66|68|79)|157\.55\.39|207\.46\.13|40\.77\.167|52\.167\.144)\.")
SITE_FILES = re.compile(r'"GET /(files|misc)/\S+ HTTP/1\.1" 200 ')


def day(log: str) -> str:
    """The log's day as its lines write it (make.py dates each log a day of its own)."""
    return (LOGS / log).read_text().split("[", 1)[1][:11]


def addresses(log: str, selected=lambda line: True) -> set[str]:
    return {line.split(" ", 1)[0] for line in (LOGS / log).read_text().splitlines() if line and selected(line)}


def crawlers(log: str) -> set[str]:
    return addresses(log, lambda line: bool(VERIFIED_CRAWLER.match(line)) and "bot" in line.rsplit('"', 2)[-2])


def downloaders(log: str) -> set[str]:
    """Readers (not crawlers) who fetched the site's own files, answered 200."""
    return addresses(log, lambda line: bool(SITE_FILES.search(line))) - crawlers(log)


@pytest.fixture(scope="module")
def alerts(tmp_path_factory) -> list[dict]:
    """Every log replayed into one fresh stack (each log is dated a day of its own) and streamed."""
    state_dir = tmp_path_factory.mktemp("real_shapes") / "state"
    stack.up(state_dir, stack.StackOptions(**PORTS))
    try:
        endpoints = recorded_endpoints(state_dir)
        ensure_landing_table(endpoints)
        assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
        for log in sorted(ATTACKS):
            result = CliRunner().invoke(cli, ["replay", "--state-dir", str(state_dir), str(LOGS / log)])
            assert result.exit_code == 0 and ", rejected 0" in result.output, result.output
        Stream(endpoints, state_dir).run(idle_exit_after=2)
        close_every_window(endpoints)
        Stream(endpoints, state_dir).run(idle_exit_after=2)
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute(
                "select detection, severity, entity_type, entity, example, window_start "
                f"from {settings.pg_schema()}.{settings.ALERTS_TABLE}"
            )
            columns = [column.name for column in cur.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        conn.close()
    finally:
        stack.down(state_dir, purge=True)
    return rows


def alerts_of(alerts: list[dict], log: str) -> list[dict]:
    """The alerts of one log's day: a crawler's address that visits two sites is judged on each apart."""
    return [alert for alert in alerts if alert["window_start"].strftime("%d/%b/%Y") == day(log)]


def bans(alerts: list[dict], of: set[str]) -> list[dict]:
    """The alerts on `of` that `secmon decisions` turns into bans (before its allowlist and DNS checks)."""
    policy = BanPolicy.from_project()
    return [
        alert
        for alert in alerts
        if alert["entity_type"] == "ip"
        and alert["entity"] in of
        and policy.duration(alert["detection"], alert["severity"]) is not None
    ]


def test_the_logs_are_what_the_script_writes():
    assert set(ATTACKS) == {log.name for log in LOGS.glob("*.log")}
    assert all(3000 <= len((LOGS / log).read_text().splitlines()) <= 5000 for log in ATTACKS)


@pytest.mark.parametrize("log", sorted(ATTACKS))
def test_every_attack_is_alerted_and_banned(alerts, log):
    for ip, expected in ATTACKS[log].items():
        raised = {alert["detection"] for alert in alerts_of(alerts, log) if alert["entity"] == ip}
        assert expected <= raised, f"{ip}: expected {sorted(expected)}, raised {sorted(raised)}"
        assert bans(alerts_of(alerts, log), {ip}), f"{ip} raised {sorted(raised)}, none of which bans"


def shown(alerts: list[dict]) -> list[str]:
    return sorted(
        {f"{alert['detection']} {alert['severity']} {alert['entity']}: {alert['example']}"[:200] for alert in alerts}
    )


@pytest.mark.parametrize("log", INNOCENT_CASES)
def test_no_verified_crawler_and_no_reader_of_the_sites_files_is_banned(alerts, log):
    spared = crawlers(log) | downloaders(log)
    assert crawlers(log) and (downloaders(log) or log != "blog.log")
    assert shown(bans(alerts_of(alerts, log), spared)) == []


def test_the_wordpress_servers_own_address_is_never_banned(alerts):
    assert WORDPRESS_SERVER in addresses("wordpress.log")
    assert shown(bans(alerts_of(alerts, "wordpress.log"), {WORDPRESS_SERVER})) == []


@pytest.mark.parametrize("log", INNOCENT_CASES)
def test_no_high_or_critical_alert_on_a_client_that_sent_no_attack(alerts, log):
    innocent = addresses(log) - set(ATTACKS[log])
    severe = [
        alert
        for alert in alerts_of(alerts, log)
        if alert["entity_type"] == "ip" and alert["entity"] in innocent and alert["severity"] in {"high", "critical"}
    ]
    assert shown(severe) == []
