"""End to end against GoAccess, in one run (issue 39, "Speed"): one combined access log through
`secmon replay`, then `secmon stream` until every view and every closed alert window is computed,
against GoAccess (Debian's `goaccess`) producing its full HTML report from the same file.

The log is the producer's traffic (normal sessions with its scheduled attacks, so detections fire),
deterministic (seed 1, from 2024-01-25 12:00 UTC), each event written as an Apache/nginx combined
line. The traffic repeats requests (on 200,000 lines, one in seven is different), which favours a
classifier that caches by request: the first line says how many differ. secmon runs on a stack of
its own in a temporary state dir, as its CLI (`.venv/bin/secmon`, a child process each, as an
operator would run it):

- replay: `secmon replay LOG` (parse, classify, publish), its wall time;
- then a heartbeat to each partition an hour after the newest line (what `secmon follow` sends on a
  quiet log), so that every window of the log closes;
- stream: `secmon stream`, stopped by SIGTERM (as an operator's Ctrl-C) as soon as its cycle lines
  count every published event; split by those lines into its start (imports, compiling the views,
  connecting), ingest and refresh (the sums of the cycles' own figures), the gaps between cycles,
  and the window close after the last cycle (to its exit: on a stop it computes every window the
  heartbeat closed).

The stack's start and the views' first `dbt build` (on empty tables) are setup, shown apart and
not counted, as GoAccess's installation is not. The ratio is GoAccess seconds / secmon seconds
(the issue's 0.20 x = 12.0 s / 58.6 s on 1M lines; the goal is >= 0.35 x).

    .venv/bin/python benchmarks/end_to_end.py [--lines 1000000] [--rate 100] [--keep] [--skip-goaccess]
        [--profile]

--profile adds a cProfile of `secmon replay` on the same log, writing JSONL rather than publishing
(so that it does not touch the timed run): the top 20 functions by own time, and the shares of log
parsing (secmon/core/logs/) and classification (secmon/core/classify/); cProfile's cost per call
inflates code of many small calls, so the shares say where to look, the phases how long it takes.
GoAccess is installed with apt-get when missing and run as root.
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

from secmon import settings, stack
from secmon.core.endpoints import recorded_endpoints
from secmon.core.events import Event, encode_heartbeat
from secmon.core.kafka_clients import Producer
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import ensure_landing_table
from secmon.producer.generate import Mix, plan
from secmon.settings import WINDOW_CLOSE_TABLE

START_MS = 1_706_184_000_000  # 2024-01-25T12:00:00Z
# The stream is stopped (SIGTERM: it finishes its cycle, computes every closed window, exits) once it
# has ingested every published event; stopping when idle this long is only the fallback.
IDLE_EXIT_SECONDS = 10.0
SECMON = str(Path(sys.executable).with_name("secmon"))
# A line per stream cycle (secmon/cli.py `stream`): "50,000 events, 0 rejected | ingest   812 ms, refresh  2301 ms | …"
CYCLE_LINE = re.compile(r"([\d,]+) events, ([\d,]+) rejected \| ingest\s+(\d+) ms, refresh\s+(\d+) ms")
STARTED_LINE = re.compile(r"streaming \S+ into (\d+) views")  # printed once the views are compiled
PUBLISHED_LINE = re.compile(r"lines read ([\d,]+), published ([\d,]+), rejected ([\d,]+)")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


# --- the log ---------------------------------------------------------------------------------------


def quoted(value: str | None) -> str:
    """A field between quotes, as nginx and Apache write it: `"-"` for none, backslash and quote
    escaped, control characters as \\xHH (so that a line stays one line)."""
    if not value:
        return '"-"'
    value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match[0]):02X}", value) + '"'


def combined_line(event: Event) -> str:
    """The event as a combined-format line. The byte count is made up (events carry none), from the URL."""
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(event.request_timestamp // 1000))
    user = CONTROL_CHARACTERS.sub("", event.username or "").replace(" ", "_") or "-"
    return (
        f"{event.ip_address} - {user} [{stamp}] {quoted(f'{event.http_method} {event.url} HTTP/1.1')} "
        f"{event.status_code} {200 + len(event.url) * 37 % 30_000} {quoted(event.referrer)} {quoted(event.user_agent)}"
    )


@dataclass
class Log:
    path: Path
    lines: int
    newest_ms: int
    distinct: int  # different requests (method, URL, User-Agent, Referer, status): a classifier may cache by them
    attacks: Counter = field(default_factory=Counter)  # scenario → attacks started in the log


def write_log(path: Path, lines: int, rate: float) -> Log:
    """The first `lines` events of the producer's traffic at `rate` events/s, as combined lines. The
    normal rate wanders around `rate`: a fifth more time than needed is planned, and the rest cut."""
    traffic = plan(Mix(rate=rate, seed=1), START_MS, int(1.2 * lines / rate * 1000))
    written, newest_ms, requests = 0, START_MS, set()
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as handle:
        for event in traffic.events():
            if written == lines:
                break
            handle.write(combined_line(event) + "\n")
            written, newest_ms = written + 1, event.request_timestamp
            requests.add((event.http_method, event.url, event.user_agent, event.referrer, event.status_code))
    if written < lines:
        raise SystemExit(f"the traffic plan made only {written:,} events of the {lines:,} asked: raise its duration")
    attacks = Counter(label.scenario for label in traffic.labels if label.first_event_ms <= newest_ms)
    return Log(path, lines, newest_ms, len(requests), attacks)


# --- GoAccess --------------------------------------------------------------------------------------


def goaccess_binary() -> str | None:
    """GoAccess, installed from Debian's package when missing and run as root; None (and why) otherwise."""
    found = shutil.which("goaccess")
    if found is None and os.geteuid() == 0:
        print("goaccess: not installed; apt-get install -y goaccess …", flush=True)
        subprocess.run(["apt-get", "install", "-y", "goaccess"], check=True, capture_output=True)
        found = shutil.which("goaccess")
    if found is None:
        print("goaccess: not installed: run `sudo apt-get install -y goaccess` (Debian's package), or --skip-goaccess")
    return found


def run_goaccess(binary: str, log: Log, work: Path) -> tuple[float, str]:
    """Seconds for GoAccess's full HTML report of the log, and its version."""
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("\n", 1)[0]
    started = time.perf_counter()
    subprocess.run(
        [binary, str(log.path), "--log-format=COMBINED", "-o", str(work / "report.html")],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,  # GoAccess also reads a piped stdin
    )
    return time.perf_counter() - started, version.strip().rstrip(".")


# --- secmon ----------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float
    events: int | None = None  # the events it handled, for a rate
    once: bool = False  # paid once per state dir, not per log (the stream's compile, reused on a restart)


def child_environment(state_dir: Path) -> dict[str, str]:
    """secmon's children find this stack by its state dir, not a broker or database the environment
    names; rich writes each line whole (no wrap at 80 columns) and at once."""
    environment = {
        name: value for name, value in os.environ.items() if name not in (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL)
    }
    return environment | {settings.ENV_STATE_DIR: str(state_dir), "COLUMNS": "1000", "PYTHONUNBUFFERED": "1"}


def replay(state_dir: Path, log: Log) -> tuple[Phase, int]:
    """`secmon replay LOG`: its phase, and the events it published (every line is expected to parse)."""
    started = time.perf_counter()
    result = subprocess.run(
        [SECMON, "replay", "--state-dir", str(state_dir), str(log.path)],
        capture_output=True,
        text=True,
        env=child_environment(state_dir),
    )
    seconds = time.perf_counter() - started
    counts = PUBLISHED_LINE.search(result.stdout)
    if result.returncode != 0 or counts is None:
        raise SystemExit(f"secmon replay failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    read, published, rejected = (int(count.replace(",", "")) for count in counts.groups())
    if rejected:
        print(f"  (replay rejected {rejected:,} of {read:,} lines:)\n{result.stdout}")
    return Phase("replay (parse, classify, publish)", seconds, published), published


def close_every_window(bootstrap_servers: str, newest_ms: int) -> None:
    """A heartbeat to each partition an hour after the newest line: the stream's watermark passes the
    end of every window of the log."""
    producer = Producer(bootstrap_servers)
    for partition in producer.partitions(settings.EVENTS_TOPIC):
        producer.send(settings.EVENTS_TOPIC, encode_heartbeat(newest_ms + 3_600_000), partition=partition)
    if producer.flush() != 0:
        raise SystemExit("the heartbeats were not delivered")


@dataclass
class Cycle:
    printed_at: float  # seconds since the stream started
    ingested: int
    ingest_seconds: float
    refresh_seconds: float


@dataclass
class StreamRun:
    compiled_at: float  # seconds since the stream started: the views are compiled
    views: int
    cycles: list[Cycle]
    wall_seconds: float


def stream(state_dir: Path, published: int) -> StreamRun:
    """`secmon stream` until it has taken `published` events: its lines, as printed and stamped on
    arrival, and its wall time (less the idle wait if it stopped on that instead)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [SECMON, "stream", "--state-dir", str(state_dir), "--exit-when-idle", str(IDLE_EXIT_SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_environment(state_dir),
    )
    cycles, output, compiled, taken = [], [], None, 0
    for line in child.stdout:
        output.append(line)
        if compiled is None and (views := STARTED_LINE.search(line)):
            compiled = (time.perf_counter() - started, int(views[1]))
        cycle = CYCLE_LINE.search(line)
        if cycle:
            ingested, rejected, ingest_ms, refresh_ms = (int(value.replace(",", "")) for value in cycle.groups())
            cycles.append(Cycle(time.perf_counter() - started, ingested, ingest_ms / 1000, refresh_ms / 1000))
            taken += ingested + rejected
            if taken >= published:
                child.send_signal(signal.SIGTERM)
    if child.wait() != 0 or not cycles or compiled is None:
        raise SystemExit(f"secmon stream failed ({child.returncode}):\n{''.join(output[-40:])}")
    wall_seconds = time.perf_counter() - started
    if taken < published:
        print(f"  (!) the stream took {taken:,} of the {published:,} events published, and stopped when idle")
        wall_seconds -= IDLE_EXIT_SECONDS
    return StreamRun(*compiled, cycles, wall_seconds)


def stream_phases(run: StreamRun) -> list[Phase]:
    """The stream's wall time split into phases that add up to it."""
    cycles = run.cycles
    events = sum(cycle.ingested for cycle in cycles)
    cycle_seconds = [cycle.ingest_seconds + cycle.refresh_seconds for cycle in cycles]
    between = (cycles[-1].printed_at - cycles[0].printed_at) - sum(cycle_seconds[1:])
    closing = run.wall_seconds - cycles[-1].printed_at
    return [
        Phase(f"stream start: imports, compile the {run.views} views", run.compiled_at, once=True),
        Phase("stream start: connect, index, first refresh", cycles[0].printed_at - cycle_seconds[0] - run.compiled_at),
        Phase(f"ingest ({len(cycles)} cycles)", sum(cycle.ingest_seconds for cycle in cycles), events),
        Phase("refresh the views (same cycles)", sum(cycle.refresh_seconds for cycle in cycles), events),
        Phase("between cycles (polls, status)", max(0.0, between)),
        Phase("window close after the last cycle", closing, events),
    ]


def outcome(pg_url: str, newest_ms: int) -> tuple[Counter, bool]:
    """The alerts by detection, and whether the window-close views are computed past the newest line."""
    schema = settings.pg_schema()
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select detection, count(*) from {schema}.{settings.ALERTS_TABLE} group by detection")
        alerts = Counter(dict(cur.fetchall()))
        cur.execute(f"select emitted_until from {schema}.{WINDOW_CLOSE_TABLE}")
        row = cur.fetchone()
    conn.close()
    newest = datetime.fromtimestamp(newest_ms / 1000, UTC)
    return alerts, row is not None and row[0] is not None and row[0] > newest


# --- the run ---------------------------------------------------------------------------------------


def setup(state_dir: Path) -> float:
    """The stack and the views' first build (on empty tables): seconds, not counted."""
    started = time.perf_counter()
    stack.up(state_dir, stack.StackOptions(kafka_port=29992, pg_port=26332))
    endpoints = recorded_endpoints(state_dir)
    ensure_landing_table(endpoints)
    if run_dbt(["build", "-t", "local", "--quiet", "--exclude", "resource_type:test"], endpoints) != 0:
        raise SystemExit("dbt build failed")
    return time.perf_counter() - started


def run_secmon(state_dir: Path, log: Log) -> list[Phase]:
    endpoints = recorded_endpoints(state_dir)
    replayed, published = replay(state_dir, log)
    started = time.perf_counter()
    close_every_window(endpoints.bootstrap_servers, log.newest_ms)
    heartbeat = Phase("heartbeat (close every window)", time.perf_counter() - started)
    phases = [replayed, heartbeat, *stream_phases(stream(state_dir, published))]
    alerts, closed = outcome(endpoints.pg_url, log.newest_ms)
    print(
        f"  alerts: {sum(alerts.values()):,} ("
        + ", ".join(f"{name} {count}" for name, count in alerts.most_common())
        + f"); attacks in the log: {sum(log.attacks.values())}, of {len(log.attacks)} scenarios"
    )
    if not closed:
        print("  (!) the window-close views are not computed past the newest line")
    return phases


def print_phases(phases: list[Phase], lines: int) -> float:
    total = sum(phase.seconds for phase in phases)
    print(f"secmon: {total:.1f} s = {lines / total:,.0f} lines/s; where the time goes:")
    for phase in phases:
        rate = f"{phase.events / phase.seconds:>10,.0f} events/s" if phase.events and phase.seconds > 0 else ""
        print(f"  {phase.name:<52}{phase.seconds:>7.2f} s {phase.seconds / total:>5.0%} {rate}")
    return total


def profile_replay(log: Log, work: Path) -> None:
    """cProfile of `secmon replay` writing JSONL (no broker): the top 20 by own time, and the shares
    of log parsing and classification (the time spent in calls into each from outside it)."""
    profile = work / "replay.prof"
    subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), SECMON, "replay", "--output", str(work / "replay.jsonl"),
         "--labels", str(work / "replay-labels.jsonl"), str(log.path)],
        check=True, capture_output=True, env=child_environment(work / "no-stack"),
    )  # fmt: skip
    report = io.StringIO()
    stats = pstats.Stats(str(profile), stream=report)
    total = stats.total_tt
    stats.sort_stats("tottime").print_stats(20)
    print(f"profile of replay (JSONL output, no broker), {total:.1f} s under cProfile; top 20 by own time:")
    print("\n".join("  " + line for line in report.getvalue().splitlines() if line.strip()[:1].isdigit()))
    for name, folder in (("log parsing", "secmon/core/logs/"), ("classification", "secmon/core/classify/")):
        print(f"  {name} ({folder}): {entered_seconds(stats, folder) / total:.0%} of the replay")


def entered_seconds(stats: pstats.Stats, folder: str) -> float:
    """Cumulative seconds of the calls into `folder`'s functions from the project's code outside it.
    Calls from builtins and libraries are left out: those are inside a call already counted (a
    generator's `next`, a regex library's callback)."""
    project = str(settings.PROJECT_DIR)

    def entry(caller: tuple) -> bool:
        path = caller[0]
        return path.startswith(project) and "site-packages" not in path and folder not in path

    return sum(
        edge[3]
        for func in stats.stats
        if folder in func[0]
        for caller, edge in stats.stats[func][4].items()
        if entry(caller)
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--lines", type=int, default=1_000_000, help="lines in the log")
    options.add_argument("--rate", type=float, default=100.0, help="the traffic's events/s (how long the log spans)")
    options.add_argument("--keep", action="store_true", help="leave the stack running (and the log) at the end")
    options.add_argument("--skip-goaccess", action="store_true", help="secmon alone")
    options.add_argument("--profile", action="store_true", help="and a cProfile of the replay")
    args = options.parse_args()
    goaccess = None if args.skip_goaccess else goaccess_binary()
    work = Path(tempfile.mkdtemp(prefix="secmon-end-to-end-"))
    state_dir = work / "state"
    try:
        log = write_log(work / "access.log", args.lines, args.rate)
        span = (log.newest_ms - START_MS) / 60_000
        print(
            f"combined log: {log.lines:,} lines, {log.path.stat().st_size / 2**20:.0f} MB, the producer's traffic "
            f"at {args.rate:g} events/s over {span:.0f} minutes, with its attacks; {log.distinct:,} different requests"
        )
        print(f"(setup, not counted: stack up and the views' first dbt build {setup(state_dir):.1f} s)")
        phases = run_secmon(state_dir, log)
        secmon_seconds = print_phases(phases, log.lines)
        if goaccess:
            seconds, version = run_goaccess(goaccess, log, work)
            print(f"{version} (COMBINED, full HTML report): {seconds:.1f} s = {log.lines / seconds:,.0f} lines/s")
            print(
                f"GoAccess / secmon: {seconds / secmon_seconds:.2f} x (goal >= 0.35 x; the issue's 0.20 x was "
                "12.0 s / 58.6 s on 1M lines)"
            )
            again = secmon_seconds - sum(phase.seconds for phase in phases if phase.once)
            print(f"  {seconds / again:.2f} x on a state dir whose stream has compiled the views before")
        if args.profile:
            profile_replay(log, work)
    finally:
        if args.keep:
            print(f"kept: {work} (the log, the reports); stop the stack: secmon down --state-dir {state_dir} --purge")
        else:
            stack.down(state_dir, purge=True)
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
