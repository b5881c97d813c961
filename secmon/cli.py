"""The `secmon` command line: each command's body calls a library function."""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from secmon import settings, stack
from secmon.console import console, styled
from secmon.core.children import stop_on_sigterm
from secmon.core.endpoints import postgres_url, resolve_endpoints
from secmon.core.kafka_clients import KafkaSettingsError
from secmon.errors import SecmonError


class SecmonGroup(click.Group):
    """Turns SecmonError into a one-line `Error: …` and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SecmonError, KafkaSettingsError) as exc:
            raise click.ClickException(str(exc)) from exc


def state_dir_option(fn):
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=settings.ENV_STATE_DIR,
        default=settings.DEFAULT_STATE_DIR,
        show_default=True,
        help="Where the embedded services keep data, logs and pid files.",
    )(fn)


def bootstrap_option(fn):
    return click.option(
        "--bootstrap-server",
        "bootstrap_servers",
        envvar=settings.ENV_BOOTSTRAP,
        help="Use this Kafka broker (host:port[,…]) instead of the embedded one.",
    )(fn)


def endpoint_options(fn):
    fn = bootstrap_option(fn)
    return click.option(
        "--pg-url",
        envvar=settings.ENV_PG_URL,
        help="Use this PostgreSQL (postgresql://user@host:port/db) instead of the embedded one.",
    )(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


@click.group(cls=SecmonGroup)
@click.version_option(package_name="secmon")
def cli():
    """Real-time website security monitoring as code.

    Events flow producer → Kafka topic `website_logs` → streaming SQL views (dbt) → Grafana.

    Example: secmon up && secmon status
    """
    stop_on_sigterm()


def _print_statuses(rows: list[stack.ComponentStatus], title: str) -> None:
    table = Table(title=title)
    for column in ("component", "address", "pid", "health", "mode", "clients authenticate"):
        table.add_column(column, overflow="fold")
    for row in rows:
        health = styled(("ok", "green")) if row.healthy else styled(("down", "red"))
        mode = row.action or ("embedded" if row.managed else "external")
        table.add_row(row.component, row.address, str(row.pid or "-"), health, mode, row.auth)
    console.print(table)


@cli.command()
@state_dir_option
@endpoint_options
@click.option("--host", default=settings.DEFAULT_HOST, show_default=True, help="Address the embedded services bind.")
@click.option("--kafka-port", default=settings.DEFAULT_KAFKA_PORT, show_default=True, help="Embedded broker port.")
@click.option("--pg-port", default=settings.DEFAULT_PG_PORT, show_default=True, help="Embedded PostgreSQL port.")
@click.option(
    "--partitions",
    default=settings.DEFAULT_PARTITIONS,
    show_default=True,
    help=f"Partitions of the `{settings.EVENTS_TOPIC}` topic when it is created.",
)
def up(state_dir, bootstrap_servers, pg_url, host, kafka_port, pg_port, partitions):
    """Start the embedded broker and PostgreSQL (or use external ones) and create the topic and schema.

    Idempotent: a second `up` reports what already runs.

    Example: secmon up --kafka-port 29092 --pg-port 25432
    """
    options = stack.StackOptions(host, kafka_port, pg_port, partitions, bootstrap_servers, pg_url)
    _print_statuses(stack.up(state_dir, options), f"secmon stack ({state_dir})")


@cli.command()
@state_dir_option
@click.option("--purge", is_flag=True, help="Also delete the state directory (all ingested data).")
def down(state_dir, purge):
    """Stop the embedded services and wait until they have exited.

    Example: secmon down --purge
    """
    stopped = stack.down(state_dir, purge=purge)
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    if purge:
        console.print(f"deleted {state_dir}")


@cli.command()
@state_dir_option
@json_option
def status(state_dir, as_json):
    """Show each component's address, pid and health (a real request to each).

    Example: secmon status --json
    """
    from secmon.engine.stream import read_status
    from secmon.follow import read_status as read_follow_status

    rows = stack.status(state_dir)
    stream_status, follow_status = read_status(state_dir), read_follow_status(state_dir)
    if as_json:
        click.echo(
            json.dumps(
                {"components": [asdict(row) for row in rows], "stream": stream_status, "follow": follow_status},
                indent=2,
            )
        )
        return
    if not rows and not follow_status:
        console.print(f"no stack recorded in {state_dir}: run `secmon up`")
        return
    if rows:
        _print_statuses(rows, f"secmon stack ({state_dir})")
    if stream_status:
        _print_stream_status(stream_status)
    if follow_status:
        _print_follow_status(follow_status)


def _process_header(name: str, status: dict) -> str:
    """`follow (pid 12, running, updated 1 s ago)`, from a status file's pid and time."""
    import psutil

    alive = psutil.pid_exists(status["pid"])
    return (
        f"{name} (pid {status['pid']}, {'running' if alive else 'stopped'}, "
        f"updated {time.time() - status['updated_at']:.0f} s ago)"
    )


def _print_follow_status(status: dict) -> None:
    console.print(
        f"{_process_header('follow', status)}: "
        f"{', '.join(status['files'])}: {status['lines']:,} lines, {status['published']:,} published, "
        f"{status['rejected']:,} rejected, {status['lines_per_second']:,.0f} lines/s, "
        f"lag {status['lag_seconds']:.1f} s"
    )


def _print_stream_status(status: dict) -> None:
    console.print(
        f"{_process_header('stream', status)}: "
        f"{status['ingested']:,} events ingested, {status['rejected']:,} rejected, "
        f"{status['batches']:,} batches, last refresh {status['last_refresh_seconds'] * 1000:.0f} ms; "
        f"lag {status.get('lag_events', 0):,} events, {status.get('lag_seconds', 0.0):.1f} s"
    )
    table = Table(title="consumer lag")
    for column in ("partition", "position", "high watermark", "lag"):
        table.add_column(column, justify="right")
    for partition, offsets in sorted(status["partitions"].items(), key=lambda item: int(item[0])):
        highwater = offsets["highwater"]
        lag = "-" if highwater is None else f"{highwater - offsets['position']:,}"
        table.add_row(partition, f"{offsets['position']:,}", "-" if highwater is None else f"{highwater:,}", lag)
    console.print(table)


@cli.command()
@state_dir_option
def env(state_dir):
    """Print the stack's addresses as shell `export` lines, with libpq's own (PGHOST, PGPASSFILE…):
    a bare `psql` then connects as the owner, with no password on its command line.

    Example: eval "$(secmon env)" && psql
    """
    endpoints = resolve_endpoints(state_dir)
    for name, value in {**endpoints.environment(), **stack.libpq_environment(state_dir, endpoints)}.items():
        click.echo(f"export {name}={shlex.quote(value)}")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@state_dir_option
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def dbt(state_dir, dbt_args):
    """Run dbt in-process on this project with the stack's addresses; dbt's exit code passes through.

    Every argument goes to dbt, `--help` included.

    Example: secmon dbt build -s website_user_metrics
    """
    from secmon.dbt_runner import run_dbt

    try:
        endpoints = resolve_endpoints(state_dir)
    except SecmonError:
        endpoints = None  # e.g. `dbt compile -t risingwave` needs no local stack
    sys.exit(run_dbt(dbt_args, endpoints))


def _parse_start(value: str | None) -> int | None:
    if value is None:
        return None
    from secmon.core.events import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 timestamp", param_hint="--start") from None


def _sink(state_dir: Path, bootstrap_servers: str | None, output: Path | None, labels: Path | None):
    from secmon.core import endpoints, kafka_clients
    from secmon.producer.publish import FileSink, KafkaSink

    if output is not None:
        return FileSink(output, labels or output.with_suffix(".labels.jsonl")), str(output)
    servers = endpoints.bootstrap_servers(state_dir, bootstrap_servers)
    for topic in (settings.EVENTS_TOPIC, settings.LABELS_TOPIC):
        kafka_clients.ensure_topic(servers, topic, settings.DEFAULT_PARTITIONS)
    if labels is None:
        state_dir.mkdir(parents=True, exist_ok=True)
        labels = state_dir / "labels.jsonl"
    return (
        KafkaSink(servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC, labels),
        f"{settings.EVENTS_TOPIC} at {servers}",
    )


def _send_with_progress(send, expected: int | None, destination: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [
        TextColumn("[bold]publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>9,.0f} events/s"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("events", total=expected, rate=0.0)

        def advance(count: int) -> None:
            bar.advance(task, count)
            elapsed = bar.tasks[task].elapsed or 0
            bar.update(task, rate=bar.tasks[task].completed / elapsed if elapsed else 0.0)

        summary = send(advance)
    table = Table(title=f"sent to {destination}")
    table.add_column("events", justify="right")
    table.add_column("MB", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("events/s", justify="right")
    table.add_column("labels", justify="right")
    table.add_row(
        f"{summary.events:,}",
        f"{summary.bytes / 1e6:,.1f}",
        f"{summary.seconds:,.1f}",
        f"{summary.rate:,.0f}",
        str(summary.labels),
    )
    console.print(table)
    if summary.per_scenario:
        console.print(
            "events per scenario: "
            + ", ".join(f"{name} {count:,}" for name, count in summary.per_scenario.most_common())
        )
    if summary.undelivered:
        raise SecmonError(
            f"{summary.undelivered} of {summary.events + summary.labels} messages "
            f"could not be delivered to {destination}"
        )
    return summary


def log_options(fn):
    """How `replay` and `follow` read a log: its format and the proxies in front of the server."""
    from secmon.core.logs.formats import REGISTRY

    fn = click.option(
        "--trusted-proxy",
        "trusted_proxies",
        multiple=True,
        metavar="CIDR",
        help="A reverse proxy or load balancer in front of the server (repeatable): behind one, the "
        "client is the right-most X-Forwarded-For address that is not a trusted proxy.",
    )(fn)
    fn = click.option(
        "--log-format",
        "declared",
        metavar="FORMAT|NAME",
        help="Your server's own format, pasted from its config: nginx's `log_format …` line or Apache's "
        "`LogFormat …` line (or only the format string), or a name in the project's log_formats.yml. "
        "It wins over recognition.",
    )(fn)
    return click.option(
        "--format",
        "log_format",
        type=click.Choice(["auto", *REGISTRY]),
        default="auto",
        show_default=True,
        help="A built-in format (`secmon formats` lists them); auto recognises each line's.",
    )(fn)


def _line_format(log_format: str, declared: str | None):
    """The --format name, or the --log-format compiled: what a LineParser is given."""
    from secmon.core.logs.formats import declared_format

    if declared is None:
        return log_format
    try:
        return declared_format(declared, settings.PROJECT_DIR)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--log-format") from None


def _trusted(trusted_proxies: tuple[str, ...]):
    from secmon.core.logs.formats import trusted_networks

    try:
        return trusted_networks(trusted_proxies)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("--trusted-proxy "), param_hint="--trusted-proxy") from None


def sink_options(fn):
    fn = click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write events to this JSONL file instead of publishing.",
    )(fn)
    fn = click.option(
        "--labels",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where labels go as JSONL (default: <state-dir>/labels.jsonl, or next to --output).",
    )(fn)
    return bootstrap_option(state_dir_option(fn))


@cli.command()
@sink_options
@click.option("--rate", default=100.0, show_default=True, help="Normal traffic, events per second.")
@click.option("--duration", default=60.0, show_default=True, help="Realtime: seconds to run; 0 runs until Ctrl-C.")
@click.option("--backfill", is_flag=True, help="Simulated clock, as fast as possible, instead of realtime.")
@click.option("--minutes", default=10.0, show_default=True, help="Backfill: simulated minutes.")
@click.option("--start", help="Backfill: first timestamp (ISO-8601; default: --minutes before now).")
@click.option("--seed", default=1, show_default=True, help="Same seed and options → byte-identical output.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Attack scenario to include (repeatable; default: all). See `secmon scenarios`.",
)
@click.option("--attacks", type=int, help="Attacks per scenario (default: one per 10 minutes; 0: none).")
@click.option("--users", type=int, help="Registered users (default: 20 per event/s of --rate).")
def produce(
    state_dir,
    bootstrap_servers,
    output,
    labels,
    rate,
    duration,
    backfill,
    minutes,
    start,
    seed,
    scenarios,
    attacks,
    users,
):
    """Generate website traffic with labelled attacks and publish it to `website_logs`.

    Realtime (timestamps = now, steady --rate) by default, for --duration seconds or, with
    --duration 0, until Ctrl-C; attacks are planned as the run goes, so memory stays flat however
    long it runs. --backfill simulates --minutes as fast as possible. Labels go to
    `website_logs_labels` and a JSONL file.

    Example: secmon produce --backfill --minutes 30 --start 2024-01-25T12:00:00Z --seed 7
    """
    from secmon.producer.attacks import SCENARIOS
    from secmon.producer.generate import Mix, plan
    from secmon.producer.publish import publish

    if backfill:
        duration_ms = int(minutes * 60_000)
        start_ms = _parse_start(start) or int(time.time() * 1000) - duration_ms
    elif duration < 0:
        raise click.BadParameter("must be 0 (until Ctrl-C) or more", param_hint="--duration")
    else:
        duration_ms, start_ms = (duration * 1000 if duration else math.inf), int(time.time() * 1000)
    mix = Mix(rate, seed, tuple(scenarios) or tuple(SCENARIOS), attacks, users)
    try:
        traffic_plan = plan(mix, start_ms, duration_ms)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scenario/--attacks") from None
    sink, destination = _sink(state_dir, bootstrap_servers, output, labels)
    expected = None if duration_ms == math.inf else int(rate * duration_ms / 1000)
    _send_with_progress(
        lambda progress: publish(traffic_plan, sink, realtime=not backfill, progress=progress), expected, destination
    )


@cli.group(invoke_without_command=True)
@click.pass_context
def formats(ctx):
    """The access-log formats `replay` and `follow` read: list them, or check a file against them.

    Example: secmon formats check /var/log/nginx/access.log
    """
    if ctx.invoked_subcommand is not None:
        return
    from secmon.core.logs.formats import REGISTRY

    table = Table(title="log formats (recognised line by line unless --format or --log-format names one)")
    table.add_column("name")
    table.add_column("what writes it", overflow="fold")
    for entry in REGISTRY.values():
        table.add_row(entry.name, entry.description + ("" if entry.auto else " (only with --format)"))
    console.print(table)
    console.print("yours: --log-format with nginx's `log_format …` or Apache's `LogFormat …` line")


@formats.command("check")
@click.argument("log_file", type=click.File("r", encoding="utf-8", errors="surrogateescape"))
@click.option("--log-format", "declared", metavar="FORMAT|NAME", help="Check against your declared format.")
@click.option("--shown", default=5, show_default=True, help="How many unmatched lines to show.")
def formats_check(log_file, declared, shown):
    """How many lines of a log each format reads, and why the first unmatched lines fail (GoAccess's
    invalid-requests report): the field and its column.

    Example: secmon formats check access.log --log-format "$(grep -h log_format /etc/nginx/nginx.conf)"
    """
    from secmon.core.logs.formats import LineParser, MalformedLine

    parser = LineParser(_line_format("auto", declared))
    failed, total = [], 0
    for number, line in enumerate(log_file, start=1):
        if not line.strip():
            continue
        total += 1
        try:
            parser.parse(line.rstrip("\r\n"))
        except MalformedLine as exc:
            failed.append((number, str(exc), line.rstrip()[:100]))
    console.print(
        f"{total:,} lines: {total - len(failed):,} parsed ({parser.summary()}), {len(failed):,} matched no format"
    )
    for number, reason, text in failed[:shown]:
        console.print(f"  line {number}: {reason}\n    {text}", highlight=False, soft_wrap=True)
    sys.exit(1 if failed else 0)


@cli.command()
def scenarios():
    """List the attack scenarios the producer can generate.

    Example: secmon scenarios
    """
    from secmon.producer.attacks import SCENARIOS

    for name, fn in SCENARIOS.items():
        console.print(styled((name, "bold"), f": {fn.__doc__.strip().splitlines()[0]}"))


@cli.command()
@sink_options
@click.argument("log_file", type=click.File("r", encoding="utf-8", errors="surrogateescape"))
@click.option("--retime", type=click.Choice(["now"]), help="Shift timestamps to start now and publish in realtime.")
@click.option("--speed", default=1.0, show_default=True, help="With --retime now: replay this many times faster.")
@click.option(
    "--rejects",
    type=click.File("w", encoding="utf-8", errors="surrogateescape"),
    help="Keep malformed lines in this file.",
)
@log_options
def replay(
    state_dir,
    bootstrap_servers,
    output,
    labels,
    log_file,
    retime,
    speed,
    rejects,
    trusted_proxies,
    declared,
    log_format,
):
    """Publish a real access log as events, each line's format recognised on its own.

    Every built-in format (`secmon formats`), or yours with --log-format. LOG_FILE may be `-` for
    standard input. Malformed lines are counted and reported with the field that failed; the rest go on.

    Example: secmon replay /var/log/nginx/access.log --retime now --speed 10 --trusted-proxy 10.0.0.0/8
    """
    from secmon.core.logs import formats as replaying
    from secmon.producer.publish import encode_chunks_in_workers, send_chunks

    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    stats = replaying.ReplayStats()
    parser = replaying.LineParser(_line_format(log_format, declared), _trusted(trusted_proxies))
    events = replaying.read_log(log_file, stats, parser, rejects)
    if retime == "now":
        events = replaying.retime(events, int(time.time() * 1000), speed)
    sink, destination = _sink(state_dir, bootstrap_servers, output, labels)

    def unclassifiable(reason: str) -> None:
        stats.parsed -= 1
        stats.rejected += 1
        if len(stats.first_rejects) < 5:
            stats.first_rejects.append(reason)

    chunks = encode_chunks_in_workers(events, unclassifiable)  # classified in parallel, one worker per core
    _send_with_progress(lambda progress: send_chunks(chunks, sink, retime == "now", progress), None, destination)
    console.print(f"{getattr(log_file, 'name', '-')}: format {parser.summary()}")
    console.print(f"lines read {stats.lines:,}, published {stats.parsed:,}, rejected {stats.rejected:,}")
    for description in stats.first_rejects:
        console.print(f"  rejected {description}")
    if stats.rejected > len(stats.first_rejects):
        console.print(
            f"  … and {stats.rejected - len(stats.first_rejects):,} more"
            + ("" if rejects else " (keep them with --rejects FILE)")
        )


@cli.command()
@state_dir_option
@bootstrap_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from-start", is_flag=True, help="Read each file from its start (default: only new lines, as tail -F).")
@log_options
@click.option("--poll", "poll_seconds", default=0.2, show_default=True, help="Seconds between two reads of the files.")
@click.option(
    "--heartbeat",
    "heartbeat_seconds",
    default=settings.HEARTBEAT_SECONDS,
    show_default=True,
    help="Seconds between two heartbeats: windows close on a silent site.",
)
@click.option(
    "--log-delay",
    "log_delay_seconds",
    default=settings.LOG_DELAY_SECONDS,
    show_default=True,
    help="Seconds after its time stamp a line may reach the log: the longest request if the log stamps a "
    "request's start (Apache's %t), a buffered log's flush interval. Heartbeats promise no later time.",
)
def follow(
    state_dir, bootstrap_servers, paths, from_start, trusted_proxies, declared, log_format, poll_seconds,
    heartbeat_seconds, log_delay_seconds,
):  # fmt: skip
    """Publish a web server's access logs live, as tail -F: rotation, restarts and late files included.

    Every format `secmon replay` reads, recognised line by line. Positions are kept in the state
    directory: a restart goes on where it stopped. SIGTERM or Ctrl-C stops it; `secmon status` shows
    its lines/s, rejects and lag.

    Example: secmon follow /var/log/nginx/access.log --bootstrap-server warpstream:9092
    """
    from secmon.core import endpoints, kafka_clients
    from secmon.core.logs.formats import sniff
    from secmon.follow import follow as run_follow

    trusted = _trusted(trusted_proxies)
    line_format = _line_format(log_format, declared)
    for path in paths:
        console.print(f"{path}: format {sniff(path, line_format, trusted)}")
    servers = endpoints.bootstrap_servers(state_dir, bootstrap_servers)
    kafka_clients.ensure_topic(servers, settings.EVENTS_TOPIC, settings.DEFAULT_PARTITIONS)
    console.print(f"following {', '.join(map(str, paths))} → {settings.EVENTS_TOPIC} at {servers} (Ctrl-C stops)")
    result = run_follow(
        list(paths),
        servers,
        settings.EVENTS_TOPIC,
        state_dir,
        from_start,
        trusted,
        poll_seconds,
        log_format=line_format,
        heartbeat_seconds=heartbeat_seconds,
        log_delay_seconds=log_delay_seconds,
    )
    console.print(f"stopped after {result.lines:,} lines: {result.published:,} published, {result.rejected:,} rejected")


@cli.command(name="eval")
@state_dir_option
@endpoint_options
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The producer's labels (default: <state-dir>/labels.jsonl).",
)
@json_option
def evaluate(state_dir, bootstrap_servers, pg_url, labels, as_json):
    """Score the detections against the producer's labels: precision and recall per scenario.

    A scenario's labels are found by the detections that answer it (their yml `meta.scenario`); an
    alert is right when its entity is an attacker (or the target account) and its window overlaps
    that attack, whichever detection caught it.

    Example: secmon eval --json
    """
    from secmon.evaluate import read_alerts, read_labels, score

    labels_path = labels or state_dir / "labels.jsonl"
    if not labels_path.exists():
        raise SecmonError(f"no labels at {labels_path}: run `secmon produce` first or give --labels")
    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    result = score(read_labels(labels_path), read_alerts(endpoints.pg_url, settings.pg_schema()))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"detections against {labels_path}")
    for column in ("scenario", "labels", "alerts", "precision", "recall"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in result["scenarios"]:
        table.add_row(
            row["scenario"],
            str(row["labels"]),
            str(row["alerts"]),
            *("-" if row[key] is None else f"{row[key]:.2f}" for key in ("precision", "recall")),
        )
    console.print(table)
    console.print(f"alerts on normal traffic: {result['alerts_on_normal_traffic']}")


@cli.command()
@state_dir_option
@endpoint_options
@click.option("--rows", default=8, show_default=True, help="Rows per view.")
def summary(state_dir, bootstrap_servers, pg_url, rows):
    """Print the newest complete window of every metric view, then the newest alerts (as `secmon demo` does).

    Every windowed view of the dbt project is shown, a new one included.

    Example: secmon summary --rows 5
    """
    from secmon.report import alerts_table, latest_window_tables

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    for table in latest_window_tables(endpoints.pg_url, settings.pg_schema(), rows_per_view=rows):
        console.print(table)
    console.print(alerts_table(endpoints.pg_url, settings.pg_schema()))


def alert_line(alert: dict, origin: str | None):
    """One alert as `secmon alerts` prints it: its example URL and entity are the attacker's text, shown as data."""
    target = f" → {alert['target_username']}" if alert["target_username"] else ""
    where = f" [{origin}]" if origin else ""
    return styled(
        f"{alert['window_start'][:19]}  ",
        (f"{alert['severity']:<8}", "bold"),
        f" {alert['detection']:<24} {alert['entity']}{where}{target}  ({alert['event_count']} requests, "
        f"{alert['distinct_count']} distinct; e.g. {alert['example']})",
    )


@cli.command()
@state_dir_option
@endpoint_options
@click.option("--follow/--no-follow", default=True, show_default=True, help="Keep waiting for new alerts.")
@json_option
def alerts(state_dir, bootstrap_servers, pg_url, follow, as_json):
    """Print the alerts on the `security_alerts` topic, each alert_id once.

    Example: secmon alerts --no-follow --json
    """
    from secmon.engine.alerts import read_topic

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    seen = set()
    try:
        for raw in read_topic(endpoints.bootstrap_servers, settings.ALERTS_TOPIC, follow=follow):
            alert = json.loads(raw)
            if alert["alert_id"] in seen:
                continue  # RisingWave's sink is at-least-once
            seen.add(alert["alert_id"])
            if as_json:
                click.echo(raw.decode())
                continue
            origin = _origin(alert["entity"]) if alert["entity_type"] == "ip" else None
            console.print(alert_line(alert, origin), highlight=False)
    except KeyboardInterrupt:
        pass


def _origin(address: str) -> str:
    """`FR, OVH SAS` from the offline database, or `unknown`: never a guess."""
    from secmon.enrich import default_lookup

    info = default_lookup()(address)
    return ", ".join(part for part in (info.country_code, info.as_name) if part) or "unknown"


@cli.command()
@state_dir_option
@endpoint_options
@click.option(
    "--mmdb",
    "mmdb_files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Your own country database, then optionally your ASN database (MaxMind GeoLite2/GeoIP2 or DB-IP "
    ".mmdb) instead of the GeoLite2 data geoip2fast ships.",
)
def enrich(state_dir, bootstrap_servers, pg_url, mmdb_files):
    """Look up the country and network of every alerting address not looked up yet, into the table
    ip_enrichment that the dashboards join (the local stream does it itself; run this on RisingWave,
    from a timer).

    Example: secmon enrich --pg-url postgresql://root@risingwave:4566/dev
    """
    import psycopg2

    from secmon.enrich import MmdbLookup, default_lookup, enrich_alerting_addresses

    if len(mmdb_files) > 2:
        raise click.BadParameter("give a country file and at most one ASN file", param_hint="--mmdb")
    lookup = (
        MmdbLookup(mmdb_files[0], mmdb_files[1] if len(mmdb_files) > 1 else None) if mmdb_files else default_lookup()
    )
    conn = psycopg2.connect(resolve_endpoints(state_dir, bootstrap_servers, pg_url).pg_url)
    try:
        console.print(f"{enrich_alerting_addresses(conn, lookup):,} addresses looked up")
    finally:
        conn.close()


@cli.command()
@click.option(
    "--crowdsec-hub",
    "hub",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Import a CrowdSec hub first (cscli's /etc/crowdsec/hub or a checkout of crowdsecurity/hub): its "
    "AppSec and virtual-patching rules and HTTP scenarios become secmon/core/classify/data/crowdsec_hub.json.",
)
def patterns(hub):
    """Regenerate macros/detections/pattern_lists.sql from the classifier's data (families, buckets).

    Run it after editing a pattern seed or a family; a test fails while the two disagree. With
    --crowdsec-hub, the hub's rules are imported first; every rule not loaded is reported with why.

    Example: secmon patterns --crowdsec-hub /etc/crowdsec/hub
    """
    from secmon.core.classify.dbt_macro import write_macro
    from secmon.crowdsec_hub import write_data

    if hub is not None:
        data_file, report = write_data(hub)
        console.print(report.splitlines()[0], highlight=False)
        report_name = data_file.with_suffix(".report.txt").name
        console.print(f"wrote {data_file} (every rule not loaded, and why: {report_name})")
    console.print(f"wrote {write_macro()}")


@cli.command()
@state_dir_option
@endpoint_options
@click.option("--once", is_flag=True, help="Stop when every partition is caught up.")
def ingest(state_dir, bootstrap_servers, pg_url, once):
    """Consume `website_logs` into the landing table, exactly once; bad messages go to rejects.

    Example: secmon ingest --once && secmon dbt build
    """
    from secmon.engine.ingest import Ingester, ensure_landing_table

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    ensure_landing_table(endpoints)
    ingester = Ingester(endpoints)
    if notice := ingester.restart_notice():
        console.print(notice)
    try:
        if once:
            totals = ingester.drain()
            console.print(
                f"ingested {totals.ingested:,} events, rejected {totals.rejected:,}, "
                f"in {totals.batches} batches, {totals.seconds:.1f} s "
                f"({totals.ingested / max(totals.seconds, 1e-9):,.0f} events/s)"
            )
            return
        console.print(f"ingesting {settings.EVENTS_TOPIC} continuously; Ctrl-C stops")
        while True:
            result = ingester.poll_batch()
            if result.ingested or result.rejected:
                console.print(f"batch: {result.ingested:,} ingested, {result.rejected:,} rejected")
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        ingester.close()


@cli.command()
@state_dir_option
@endpoint_options
@click.option(
    "--max-batch",
    default=50_000,
    show_default=True,
    help="Most events per poll (one transaction); a cycle takes every event pending.",
)
@click.option("--exit-when-idle", type=float, help="Stop after this many seconds without events.")
@click.option("--quiet", is_flag=True, help="No line per batch.")
@click.option("--select", help="Keep only these views up to date (dbt selection syntax, e.g. `metrics`).")
def stream(state_dir, bootstrap_servers, pg_url, max_batch, exit_when_idle, quiet, select):
    """Ingest `website_logs` continuously and keep every view up to date after each batch.

    Each cycle ingests every event waiting on the topic, then refreshes the views (in parallel, in
    dependency order); windowed views recompute only the windows the cycle touched. Ctrl-C (or
    SIGTERM) finishes the current batch and stops; a restart resumes from the stored offsets.

    Example: secmon stream --exit-when-idle 10
    """
    from secmon.engine.stream import Stream

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    runner = Stream(endpoints, state_dir, max_batch, select=select)

    def report(batch) -> None:
        if not quiet:
            console.print(
                f"{batch.ingested:>7,} events, {batch.rejected} rejected | ingest "
                f"{batch.ingest_seconds * 1000:>5.0f} ms, refresh {batch.refresh_seconds * 1000:>5.0f} ms | "
                f"freshness p50 {batch.freshness_p50:.2f} s, max {batch.freshness_max:.2f} s | "
                f"lag {batch.lag_events:,} events, {batch.lag_seconds:.1f} s"
            )

    console.print(f"streaming {settings.EVENTS_TOPIC} into {len(runner.views)} views; Ctrl-C stops")
    runner.run(report, idle_exit_after=exit_when_idle)
    console.print(f"stopped after {runner.status.ingested:,} events ({runner.status.rejected:,} rejected)")


@cli.command()
@state_dir_option
@click.option("--backfill-minutes", default=10.0, show_default=True, help="Minutes of history to generate first.")
@click.option("--rate", default=100.0, show_default=True, help="Normal traffic, events per second.")
@click.option("--duration", type=float, help="Seconds of live traffic before stopping (default: until Ctrl-C).")
@click.option("--seed", default=1, show_default=True, help="Seed of the generated traffic.")
@click.option("--kafka-port", default=settings.DEFAULT_KAFKA_PORT, show_default=True, help="Embedded broker port.")
@click.option("--pg-port", default=settings.DEFAULT_PG_PORT, show_default=True, help="Embedded PostgreSQL port.")
def demo(state_dir, backfill_minutes, rate, duration, seed, kafka_port, pg_port):
    """Run the whole system on the embedded defaults (what `make demo` runs).

    Starts the stack, backfills traffic with attacks, ingests it, builds and tests the views with
    dbt, shows their latest windows, then streams live traffic until Ctrl-C or --duration.

    Example: secmon demo --duration 60
    """
    from secmon.demo import run_demo

    run_demo(
        console,
        state_dir,
        backfill_minutes,
        rate,
        duration,
        seed,
        stack.StackOptions(kafka_port=kafka_port, pg_port=pg_port),
    )


@cli.group()
def dashboards():
    """Grafana dashboards and alert rules as code (dashboards/*.dashboard.py, grafanalib).

    Example: secmon dashboards build && secmon dashboards preview
    """


def build_dir_option(default: Path, help_text: str):
    return click.option(
        "--output", type=click.Path(file_okay=False, path_type=Path), default=default, show_default=True, help=help_text
    )


@dashboards.command(name="build")
@build_dir_option(settings.GRAFANA_BUILD_DIR, "Folder for the JSON and provisioning files.")
def dashboards_build(output):
    """Write each dashboard's JSON and Grafana's provisioning files (datasources, dashboards, alert rules).

    The same dashboards/ always give byte-identical files.

    Example: secmon dashboards build --output build/grafana
    """
    from secmon.grafana.dashboards import build

    for path in build(output):
        console.print(f"wrote {path}")


def grafana_options(required: bool):
    def decorate(fn):
        fn = click.option(
            "--datasource-uid",
            default="secmon-risingwave",
            show_default=True,
            help="The datasource the alert rules query.",
        )(fn)
        fn = click.option("--password", envvar="GRAFANA_PASSWORD", help="Basic auth password (env GRAFANA_PASSWORD).")(
            fn
        )
        fn = click.option("--user", envvar="GRAFANA_USER", help="Basic auth instead of a token (env GRAFANA_USER).")(fn)
        fn = click.option("--token", envvar="GRAFANA_TOKEN", help="A service account token (env GRAFANA_TOKEN).")(fn)
        return click.option(
            "--grafana-url", envvar="GRAFANA_URL", required=required, help="Grafana's base URL (env GRAFANA_URL)."
        )(fn)

    return decorate


@dashboards.command(name="push")
@grafana_options(required=True)
def dashboards_push(grafana_url, token, user, password, datasource_uid):
    """Upload the dashboards into the `Security monitoring` folder and create or update the alert rules
    of the high-severity detections. Running it again changes nothing.

    Example: secmon dashboards push --grafana-url http://localhost:3000 --token "$GRAFANA_TOKEN"
    """
    from secmon.grafana.client import GrafanaClient, push_all

    changes = push_all(GrafanaClient(grafana_url, token, user, password), datasource_uid)
    table = Table(title=f"Grafana at {grafana_url}")
    for column in ("kind", "name", "action", "url"):
        table.add_column(column)
    for change in changes:
        table.add_row(change.kind, change.name, change.action, change.url)
    console.print(table)


@dashboards.command(name="preview")
@state_dir_option
@click.option("--pg-url", envvar=settings.ENV_PG_URL, help="Read this PostgreSQL instead of the embedded one.")
@build_dir_option(settings.PREVIEW_DIR, "Folder for the HTML pages.")
@click.option(
    "--from", "time_from", help="Start of the time range: now-1h, now-30m or ISO-8601 (default: the dashboard's own)."
)
@click.option("--to", "time_to", help="End of the time range (default: the dashboard's own).")
@click.option("--refresh", type=click.IntRange(min=1), help="Re-render every N seconds; the pages reload themselves.")
def dashboards_preview(state_dir, pg_url, output, time_from, time_to, refresh):
    """Render every dashboard to a self-contained HTML page from the local engine's views: no Grafana needed.

    Example: secmon dashboards preview --refresh 10   # then open build/preview/index.html
    """
    from secmon.grafana.preview import preview

    try:
        for pages in preview(
            postgres_url(state_dir, pg_url), settings.pg_schema(), output, time_from, time_to, refresh
        ):
            for page in pages:
                console.print(
                    f"{page.path}: {page.panels_with_data}/{page.panels} panels with data"
                    + (f", errors: {'; '.join(page.errors)}" if page.errors else "")
                )
    except KeyboardInterrupt:
        pass


@cli.command()
@click.option(
    "--target",
    type=click.Choice(["risingwave"]),
    required=True,
    help="Where the models go (the local target is `secmon demo` / `secmon stream`).",
)
@click.option(
    "--migrate",
    is_flag=True,
    help="Re-create objects a previous version made in a shape RisingWave now needs otherwise "
    "(the alerts table; its sinks with it). Without it, deploy names what to run and stops.",
)
@grafana_options(required=False)
def deploy(target, migrate, grafana_url, token, user, password, datasource_uid):
    """Deploy to production: Kafka topics, the RisingWave Kafka connection (TLS/SASL from
    SECMON_KAFKA_*), `dbt build -t risingwave` (source, views, sinks, tests; unchanged seeds left
    alone), the read-only user Grafana logs in as (SECMON_GRAFANA_PASSWORD, required with
    --grafana-url), then the dashboards and alert rules into Grafana. A second run changes nothing.

    RisingWave comes from SECMON_RISINGWAVE_HOST/_PORT/_USER/_PASSWORD/_DATABASE (profiles.yml).

    Example: secmon deploy --target risingwave --grafana-url http://localhost:3000 --user admin --password admin
    """
    from secmon.grafana.client import GrafanaClient
    from secmon.production.deploy import deploy_risingwave
    from secmon.production.risingwave import RisingWave

    grafana = GrafanaClient(grafana_url, token, user, password) if grafana_url else None
    deploy_risingwave(
        RisingWave.from_environment(),
        grafana,
        datasource_uid,
        lambda step: console.print(styled((step.what, "bold"), f": {step.result}"), highlight=False),
        migrate=migrate,
    )


@cli.command()
@bootstrap_option
@grafana_options(required=False)
def doctor(bootstrap_servers, grafana_url, token, user, password, datasource_uid):
    """Check that a deployed stack is ready, one line per check: RisingWave's version, the broker
    and topics with the configured security, the Kafka connection, events arriving, every view and
    sink, the read-only Grafana user, Grafana's datasource and alert rules. Exits 1 if any fails.

    Example: secmon doctor --bootstrap-server warpstream:9092 --grafana-url http://localhost:3000 --token "$TOKEN"
    """
    from secmon.grafana.client import GrafanaClient
    from secmon.production.doctor import broker_checks, grafana_checks, risingwave_checks
    from secmon.production.risingwave import RisingWave, source_bootstrap_servers

    checks = [
        *broker_checks(bootstrap_servers or source_bootstrap_servers()),
        *risingwave_checks(RisingWave.from_environment()),
    ]
    if grafana_url:
        checks += grafana_checks(GrafanaClient(grafana_url, token, user, password), datasource_uid)
    for check in checks:
        click.echo(check.line())
    if not all(check.ok for check in checks):
        raise SystemExit(1)


# Last: the decisions commands and `explain` (which weighs an alert as they do) use this module's decorators.
from secmon.decisions.cli import decisions, explain  # noqa: E402

cli.add_command(decisions)
cli.add_command(explain)
