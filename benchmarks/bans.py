"""Alerts and bans per detection per 10k lines on the real-shaped logs (tests/data/real_shapes/), before and
after issue 40's round (bans that spare the innocent).

"Before" is commit BEFORE checked out into a temporary git worktree; "after" is this tree. Each runs in a
child process of its own (PYTHONPATH and SECMON_PROJECT_DIR at its tree, as secmon/settings.py reads its
project dir), on a stack of its own (ports 29401-29404): the logs are replayed with `secmon replay`, the
local engine streams them, a heartbeat an hour after the newest line closes every window, and the alerts
are judged by that tree's own ban policy (BanPolicy.from_project: an alert bans when it is on an IP and
the policy gives it a duration; the allowlist and the crawler DNS check of `secmon decisions` are not
applied, so a ban here is one the policy alone would make).

    .venv/bin/python benchmarks/bans.py [--before 9aba56e] [--after TREE] [--keep-worktree] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "tests" / "data" / "real_shapes"
BEFORE = "9aba56e"  # the state before issue 40's round
SHOWN_ADDRESSES = 6
PORTS = {"before": (29401, 29402), "after": (29403, 29404)}


def use_trees_producer(tree: Path) -> None:
    """`secmon.producer` from `tree`'s producer/: the editable install maps it to this checkout's, which
    PYTHONPATH does not override (pyproject.toml's package-dir)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "secmon.producer", tree / "producer" / "__init__.py", submodule_search_locations=[str(tree / "producer")]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["secmon.producer"] = module
    spec.loader.exec_module(module)


def measure(logs: list[Path], kafka_port: int, pg_port: int) -> list[dict]:
    """In a child whose `secmon` is the tree measured: every log replayed and streamed on a fresh stack,
    its alerts as {log, detection, severity, entity, bans}."""
    use_trees_producer(Path(os.environ["SECMON_PROJECT_DIR"]))
    import psycopg2
    from click.testing import CliRunner

    from secmon import settings, stack
    from secmon.cli import cli
    from secmon.core.endpoints import recorded_endpoints
    from secmon.core.events import encode_heartbeat
    from secmon.core.kafka_clients import Producer
    from secmon.dbt_runner import run_dbt
    from secmon.decisions.policy import BanPolicy
    from secmon.engine.ingest import ensure_landing_table
    from secmon.engine.stream import Stream

    state_dir = Path(tempfile.mkdtemp(prefix="bans-"))
    stack.up(state_dir, stack.StackOptions(kafka_port=kafka_port, pg_port=pg_port))
    try:
        endpoints = recorded_endpoints(state_dir)
        ensure_landing_table(endpoints)
        assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
        for log in logs:
            result = CliRunner().invoke(cli, ["replay", "--state-dir", str(state_dir), str(log)])
            assert result.exit_code == 0, f"{result.output}{result.exception!r}"
        Stream(endpoints, state_dir).run(idle_exit_after=2)
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute(f"select max(request_timestamp) from {settings.pg_schema()}.website_logs_source")
            newest = cur.fetchone()[0]
            producer = Producer(endpoints.bootstrap_servers)
            for partition in producer.partitions(settings.EVENTS_TOPIC):
                heartbeat = encode_heartbeat(int(newest.timestamp() * 1000) + 3_600_000)
                producer.send(settings.EVENTS_TOPIC, heartbeat, partition=partition)
            assert producer.flush() == 0
            Stream(endpoints, state_dir).run(idle_exit_after=2)
            cur.execute(
                "select detection, severity, entity_type, entity, window_start "
                f"from {settings.pg_schema()}.{settings.ALERTS_TABLE}"
            )
            rows = cur.fetchall()
        conn.close()
    finally:
        stack.down(state_dir, purge=True)
        shutil.rmtree(state_dir, ignore_errors=True)
    policy = BanPolicy.from_project()
    day_of = {log.read_text().split("[", 1)[1][:11]: log.name for log in logs}  # each log has a day of its own
    return [
        {
            "log": day_of[window_start.strftime("%d/%b/%Y")],
            "detection": detection,
            "severity": severity,
            "entity": entity,
            "bans": entity_type == "ip" and policy.duration(detection, severity) is not None,
        }
        for detection, severity, entity_type, entity, window_start in rows
    ]


def run_child(tree: Path, ports: tuple[int, int]) -> list[dict]:
    environment = {**os.environ, "PYTHONPATH": str(tree), "SECMON_PROJECT_DIR": str(tree)}
    logs = [str(log) for log in sorted(LOGS.glob("*.log"))]
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *map(str, ports), *logs]
    done = subprocess.run(command, env=environment, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{tree}: the measuring child failed\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict[str, list[dict]], lines: dict[str, int]) -> str:
    """Per log and detection: alerts and bans per 10k lines, before → after, and the addresses banned."""
    out = [f"{'log':<14} {'detection':<22} {'alerts/10k before':>18} {'after':>7} {'bans/10k before':>16} {'after':>7}"]
    for log in sorted(lines):
        counted = {
            phase: (
                Counter(alert["detection"] for alert in alerts if alert["log"] == log),
                Counter(alert["detection"] for alert in alerts if alert["log"] == log and alert["bans"]),
            )
            for phase, alerts in results.items()
        }
        per_10k = 10_000 / lines[log]
        for detection in sorted(set().union(*(alerted for alerted, _ in counted.values()))):
            cells = [f"{log:<14} {detection:<22}"]
            for index, width in ((0, 18), (0, 7), (1, 16), (1, 7)):
                phase = "before" if width in (18, 16) else "after"
                cells.append(f"{counted[phase][index][detection] * per_10k:>{width}.1f}")
            out.append(" ".join(cells))
        for phase, alerts in results.items():
            banned = sorted({alert["entity"] for alert in alerts if alert["log"] == log and alert["bans"]})
            shown = ", ".join(banned) if len(banned) <= SHOWN_ADDRESSES else f"{', '.join(banned[:SHOWN_ADDRESSES])}, …"
            out.append(f"{log:<14} {phase}: {len(banned)} addresses banned ({shown})")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--after", type=Path, default=ROOT, help="the tree measured as after (default: this one)")
    parser.add_argument("--keep-worktree", action="store_true")
    parser.add_argument("--json", type=Path, help="write both runs' alerts here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        kafka_port, pg_port, *logs = options.child
        print(json.dumps(measure([Path(log) for log in logs], int(kafka_port), int(pg_port)), default=str))
        return
    worktree = Path(tempfile.mkdtemp(prefix="secmon-before-")) / "tree"  # git creates the tree itself
    subprocess.run(["git", "worktree", "add", "--detach", str(worktree), options.before], cwd=ROOT, check=True)
    try:
        results = {"before": run_child(worktree, PORTS["before"]), "after": run_child(options.after, PORTS["after"])}
    finally:
        if not options.keep_worktree:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=True)
            worktree.parent.rmdir()
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))
    lines = {log.name: len(log.read_text().splitlines()) for log in LOGS.glob("*.log")}
    print(table(results, lines))


if __name__ == "__main__":
    main()
