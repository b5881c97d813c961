"""A quiet site still alerts: `secmon follow` publishes heartbeats, which go on while its log is
silent, the stream's watermark follows them, and an attack's window closes and alerts with no visitor after it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
from support import built_stack, child_environment, failed_login_line

from secmon import settings
from secmon.engine.alerts import read_topic
from secmon.engine.ingest import REJECTS_TABLE
from secmon.settings import dbt_vars, interval_ms

SECMON = str(Path(sys.executable).with_name("secmon"))
ATTACKER = "203.0.113.77"
HEARTBEAT_SECONDS = 2


def published_alerts(bootstrap_servers: str) -> list[dict]:
    return [json.loads(raw) for raw in read_topic(bootstrap_servers, settings.ALERTS_TOPIC)]


def test_a_burst_on_a_silent_site_alerts_within_delay_plus_window_plus_ten_seconds(stack_options, tmp_path):
    """Twelve failed logins in a second overflow the hub's 401 bucket (crowdsec_burst, hop windows of
    crowdsec_burst_window); nothing follows them but heartbeats."""
    delay_s = interval_ms(dbt_vars()["watermark_delay"]) / 1000
    window_s = interval_ms(dbt_vars()["crowdsec_burst_window"]) / 1000
    log = tmp_path / "access.log"
    log.touch()
    with built_stack(stack_options(partitions=2)) as (state_dir, endpoints):
        own = child_environment()
        common = ["--state-dir", str(state_dir)]
        processes = [
            subprocess.Popen(argv, env=own, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for argv in (
                [SECMON, "follow", *common, str(log), "--heartbeat", str(HEARTBEAT_SECONDS)],
                [SECMON, "stream", *common, "--quiet"],
            )
        ]
        try:
            deadline = time.monotonic() + 60
            while not ((state_dir / "follow.json").exists() and (state_dir / "stream.json").exists()):
                assert time.monotonic() < deadline and all(p.poll() is None for p in processes), [
                    p.stderr.read() for p in processes if p.poll() is not None
                ]
                time.sleep(0.2)
            now = time.time()
            with open(log, "a") as handle:
                handle.writelines(failed_login_line(ATTACKER, now, attempt) for attempt in range(12))
            last_request = now

            bound = delay_s + window_s + 10
            alert = None
            while alert is None and time.time() - last_request < bound + 5:
                alert = next(
                    (a for a in published_alerts(endpoints.bootstrap_servers) if a["detection"] == "crowdsec_burst"),
                    None,
                )
                time.sleep(0.25)
            arrived = time.time()
            assert alert is not None, f"no crowdsec_burst alert within {bound + 5:.0f} s of the last request"
            assert alert["entity"] == ATTACKER
            print(f"crowdsec_burst out {arrived - last_request:.1f} s after the last request (bound {bound:.0f} s)")
            assert arrived - last_request <= bound, f"{arrived - last_request:.1f} s > {bound:.0f} s"
            # It went out because the heartbeats moved the watermark past its window, not before.
            window_end = time.mktime(time.strptime(alert["window_end"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            assert arrived >= window_end + delay_s - 1

            with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
                schema = settings.pg_schema()
                cur.execute(f"select count(*) from {schema}.website_logs_source")
                assert cur.fetchone()[0] == 12  # heartbeats land nowhere
                cur.execute(f"select count(*) from {schema}.{REJECTS_TABLE}")
                assert cur.fetchone()[0] == 0  # and are not rejects
            conn.close()
            assert json.loads((state_dir / "follow.json").read_text())["heartbeats"] >= 1
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(20)
