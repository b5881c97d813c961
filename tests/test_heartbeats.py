"""Heartbeats cannot drop events: two followers, one of them on a buffered log and stalled while its
lines come in; the other's heartbeats go on. The stalled follower's lines, once published, are all
counted in their windows (secmon/engine/watermark.py: the rule)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
from support import built_stack, child_environment, failed_login_line

from secmon import settings
from secmon.engine.alerts import read_topic
from secmon.engine.ingest import REJECTS_TABLE

SECMON = str(Path(sys.executable).with_name("secmon"))
ATTACKER = "203.0.113.78"
HEARTBEAT_SECONDS = 1
LOG_DELAY_SECONDS = 8  # the buffered log's: a line reaches the file up to 8 s after its time stamp
LINES_LATE_SECONDS = 6
STALL_SECONDS = 15


def burst_alerts(bootstrap_servers: str) -> list[dict]:
    alerts = map(json.loads, read_topic(bootstrap_servers, settings.ALERTS_TOPIC))
    return [alert for alert in alerts if alert["detection"] == "crowdsec_burst" and alert["entity"] == ATTACKER]


def wait_until(condition, seconds: float, what: str, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        exited = [p.stderr.read() for p in processes if p.poll() is not None]
        assert not exited, exited
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_stalled_follower_of_a_buffered_log_loses_no_event_to_another_followers_heartbeats(stack_options, tmp_path):
    """Follower A follows a silent log and heartbeats every second. Follower B follows a buffered
    log (`--log-delay 8`) and is stopped (SIGSTOP) for 15 s; meanwhile twelve failed logins land in
    its log, stamped 6 s before. Had A's heartbeats moved the watermark on their own, the burst's
    windows would have closed empty; as it is, B's last promise holds the watermark back, and once B
    goes on the burst is counted and alerted (crowdsec_burst)."""
    quiet_log, buffered_log = tmp_path / "quiet.log", tmp_path / "buffered.log"
    quiet_log.touch()
    buffered_log.touch()
    with built_stack(stack_options(partitions=2)) as (state_dir, endpoints):
        b_state = tmp_path / "follower-b"  # positions and status of its own
        b_state.mkdir(mode=0o700)
        argvs = (
            [SECMON, "stream", "--state-dir", str(state_dir), "--quiet"],
            [SECMON, "follow", "--state-dir", str(state_dir), str(quiet_log), "--heartbeat", str(HEARTBEAT_SECONDS)],
            [SECMON, "follow", "--state-dir", str(b_state), "--bootstrap-server", endpoints.bootstrap_servers,
             str(buffered_log), "--heartbeat", str(HEARTBEAT_SECONDS), "--log-delay", str(LOG_DELAY_SECONDS)],
        )  # fmt: skip
        processes = [
            subprocess.Popen(
                argv, env=child_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            for argv in argvs
        ]
        follower_b = processes[2]
        try:
            wait_until(
                lambda: (
                    all(path.exists() for path in (state_dir / "stream.json", state_dir / "follow.json"))
                    and (b_state / "follow.json").exists()
                ),
                60,
                "the stream and both followers",
                processes,
            )
            time.sleep(3 * HEARTBEAT_SECONDS)  # both have promised, caught up
            follower_b.send_signal(signal.SIGSTOP)
            stopped_at = time.time()
            with open(buffered_log, "a") as handle:  # the buffer's flush, while B is stalled
                handle.writelines(failed_login_line(ATTACKER, stopped_at - LINES_LATE_SECONDS, n) for n in range(12))
            time.sleep(STALL_SECONDS)
            assert burst_alerts(endpoints.bootstrap_servers) == []
            follower_b.send_signal(signal.SIGCONT)
            resumed_at = time.monotonic()
            wait_until(lambda: burst_alerts(endpoints.bootstrap_servers), 60, "the burst's alert", processes)
            print(f"crowdsec_burst out {time.monotonic() - resumed_at:.1f} s after the stalled follower went on")

            with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
                schema = settings.pg_schema()
                cur.execute(f"select count(*) from {schema}.website_logs_source where ip_address = %s", (ATTACKER,))
                assert cur.fetchone()[0] == 12
                cur.execute(f"select count(*) from {schema}.{REJECTS_TABLE}")
                assert cur.fetchone()[0] == 0
            conn.close()
        finally:
            follower_b.send_signal(signal.SIGCONT)
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(20)
