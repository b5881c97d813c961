"""The `secmon` command line: each command's body calls a library function."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import click

from secmon import console as render
from secmon import settings, stack
from secmon.alert_feed import origin
from secmon.cli_options import (
    bootstrap_option,
    endpoint_options,
    grafana_options,
    json_option,
    log_options,
    parse_line_format,
    parse_trusted,
    rate_option,
    sink_options,
    state_dir_option,
)
from secmon.console import console, styled
from secmon.core.children import stop_on_sigterm
from secmon.core.endpoints import resolve_endpoints
from secmon.core.kafka_clients import KafkaSettingsError
from secmon.decisions.cli import decisions, explain
from secmon.errors import SecmonError
from secmon.grafana.cli import dashboards
from secmon.produce_commands import produce, scenarios


class SecmonGroup(click.Group):
    """Turns SecmonError into a one-line `Error: …` and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SecmonError, KafkaSettingsError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=SecmonGroup)
@click.version_option(package_name="secmon")
def cli():
    """Real-time website security monitoring as code.

    Events flow producer → Kafka topic `website_logs` → streaming SQL views (dbt) → Grafana.

    Example: secmon up && secmon status
    """
    stop_on_sigterm()


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
    console.print(render.status_table(stack.up(state_dir, options), f"secmon stack ({state_dir})"))


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
        components = [asdict(row) for row in rows]
        click.echo(json.dumps({"components": components, "stream": stream_status, "follow": follow_status}, indent=2))
        return
    if not rows and not follow_status:
        console.print(f"no stack recorded in {state_dir}: run `secmon up`")
        return
    if rows:
        console.print(render.status_table(rows, f"secmon stack ({state_dir})"))
    if stream_status:
        render.print_stream_status(stream_status)
    if follow_status:
        render.print_follow_status(follow_status)


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


@cli.group(invoke_without_command=True)
@click.pass_context
def formats(ctx):
    """The access-log formats `replay` and `follow` read: list them, or check a file against them.

    Example: secmon formats check /var/log/nginx/access.log
    """
    if ctx.invoked_subcommand is not None:
        return
    from secmon.core.logs.formats import REGISTRY

    render.print_formats(REGISTRY.values())


@formats.command("check")
@click.argument("log_file", type=click.File("r", encoding="utf-8", errors="surrogateescape"))
@click.option("--log-format", "declared", metavar="FORMAT|NAME", help="Check against your declared format.")
@click.option("--shown", default=5, show_default=True, help="How many unmatched lines to show.")
def formats_check(log_file, declared, shown):
    """How many lines of a log each format reads, and why the first unmatched lines fail (GoAccess's
    invalid-requests report): the field and its column.

    Example: secmon formats check access.log --log-format "$(grep -h log_format /etc/nginx/nginx.conf)"
    """
    from secmon.core.logs.formats import LineParser
    from secmon.replay import check_log

    check = check_log(log_file, LineParser(parse_line_format("auto", declared)))
    render.print_format_check(check, shown)
    sys.exit(1 if check.failed else 0)


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
    state_dir, bootstrap_servers, output, labels, log_file, retime, speed, rejects, trusted_proxies, declared,
    log_format,
):  # fmt: skip
    """Publish a real access log as events, each line's format recognised on its own.

    Every built-in format (`secmon formats`), or yours with --log-format. LOG_FILE may be `-` for
    standard input. Malformed lines are counted and reported with the field that failed; the rest go on.

    Example: secmon replay /var/log/nginx/access.log --retime now --speed 10 --trusted-proxy 10.0.0.0/8
    """
    from secmon.core.logs.formats import LineParser
    from secmon.producer.publish import send_chunks
    from secmon.replay import open_sink, replay_chunks

    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    parser = LineParser(parse_line_format(log_format, declared), parse_trusted(trusted_proxies))
    stats, chunks = replay_chunks(log_file, parser, rejects, retime == "now", speed)
    sink, destination = open_sink(state_dir, bootstrap_servers, output, labels)
    render.send_with_progress(lambda progress: send_chunks(chunks, sink, retime == "now", progress), None, destination)
    render.print_replay(getattr(log_file, "name", "-"), parser.summary(), stats, rejects is not None)


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
    from secmon.follow import Follow

    trusted = parse_trusted(trusted_proxies)
    line_format = parse_line_format(log_format, declared)
    for path in paths:
        console.print(f"{path}: format {sniff(path, line_format, trusted)}")
    servers = endpoints.bootstrap_servers(state_dir, bootstrap_servers)
    kafka_clients.ensure_topic(servers, settings.EVENTS_TOPIC, settings.DEFAULT_PARTITIONS)
    console.print(f"following {', '.join(map(str, paths))} → {settings.EVENTS_TOPIC} at {servers} (Ctrl-C stops)")
    timing = (poll_seconds, line_format, heartbeat_seconds, log_delay_seconds)
    result = Follow(list(paths), servers, settings.EVENTS_TOPIC, state_dir, from_start, trusted, *timing).run()
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
    render.print_scores(result, labels_path)


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


@cli.command()
@state_dir_option
@endpoint_options
@click.option("--follow/--no-follow", default=True, show_default=True, help="Keep waiting for new alerts.")
@json_option
def alerts(state_dir, bootstrap_servers, pg_url, follow, as_json):
    """Print the alerts on the `security_alerts` topic, each alert_id once.

    Example: secmon alerts --no-follow --json
    """
    from secmon.alert_feed import distinct_alerts

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    try:
        for raw, alert in distinct_alerts(endpoints.bootstrap_servers, follow):
            if as_json:
                click.echo(raw.decode())
                continue
            where = origin(alert["entity"]) if alert["entity_type"] == "ip" else None
            console.print(render.alert_line(alert, where), highlight=False)
    except KeyboardInterrupt:
        pass


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
            console.print(render.ingest_totals_line(ingester.drain()))
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

    report = None if quiet else (lambda batch: console.print(render.batch_line(batch)))
    console.print(f"streaming {settings.EVENTS_TOPIC} into {len(runner.views)} views; Ctrl-C stops")
    runner.run(report, idle_exit_after=exit_when_idle)
    console.print(f"stopped after {runner.status.ingested:,} events ({runner.status.rejected:,} rejected)")


@cli.command()
@state_dir_option
@click.option("--backfill-minutes", default=10.0, show_default=True, help="Minutes of history to generate first.")
@rate_option
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

    options = stack.StackOptions(kafka_port=kafka_port, pg_port=pg_port)
    run_demo(console, state_dir, backfill_minutes, rate, duration, seed, options)


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


cli.add_command(dashboards)
cli.add_command(produce)
cli.add_command(scenarios)

cli.add_command(decisions)
cli.add_command(explain)
