"""The `secmon` command line: each command's body calls a library function."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import settings, stack
from .errors import SecmonError

console = Console()


class SecmonGroup(click.Group):
    """Turns SecmonError into a one-line `Error: …` and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SecmonError as exc:
            raise click.ClickException(str(exc)) from exc


def state_dir_option(fn):
    return click.option(
        "--state-dir", type=click.Path(file_okay=False, path_type=Path), envvar=settings.ENV_STATE_DIR,
        default=settings.DEFAULT_STATE_DIR, show_default=True,
        help="Where the embedded services keep data, logs and pid files.",
    )(fn)


def endpoint_options(fn):
    fn = click.option("--bootstrap-server", "bootstrap_servers", envvar=settings.ENV_BOOTSTRAP,
                      help="Use this Kafka broker (host:port[,…]) instead of the embedded one.")(fn)
    return click.option("--pg-url", envvar=settings.ENV_PG_URL,
                        help="Use this PostgreSQL (postgresql://user@host:port/db) instead of the embedded one.")(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


@click.group(cls=SecmonGroup)
@click.version_option(package_name="secmon")
def cli():
    """Real-time website security monitoring as code.

    Events flow producer → Kafka topic `website_logs` → streaming SQL views (dbt) → Grafana.

    Example: secmon up && secmon status
    """


def _print_statuses(rows: list[stack.ComponentStatus], title: str) -> None:
    table = Table(title=title)
    for column in ("component", "address", "pid", "health", "mode"):
        table.add_column(column, overflow="fold")
    for row in rows:
        health = "[green]ok[/green]" if row.healthy else "[red]down[/red]"
        mode = row.action or ("embedded" if row.managed else "external")
        table.add_row(row.component, row.address, str(row.pid or "-"), health, mode)
    console.print(table)


@cli.command()
@state_dir_option
@endpoint_options
@click.option("--host", default=settings.DEFAULT_HOST, show_default=True, help="Address the embedded services bind.")
@click.option("--kafka-port", default=settings.DEFAULT_KAFKA_PORT, show_default=True, help="Embedded broker port.")
@click.option("--pg-port", default=settings.DEFAULT_PG_PORT, show_default=True, help="Embedded PostgreSQL port.")
@click.option("--partitions", default=settings.DEFAULT_PARTITIONS, show_default=True,
              help=f"Partitions of the `{settings.EVENTS_TOPIC}` topic when it is created.")
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
    rows = stack.status(state_dir)
    if as_json:
        click.echo(json.dumps([stack.as_dict(row) for row in rows], indent=2))
        return
    if not rows:
        console.print(f"no stack recorded in {state_dir}: run `secmon up`")
        return
    _print_statuses(rows, f"secmon stack ({state_dir})")


@cli.command()
@state_dir_option
def env(state_dir):
    """Print the stack's addresses as shell `export` lines.

    Example: eval "$(secmon env)" && psql "$SECMON_PG_URL"
    """
    for name, value in stack.endpoints(state_dir).environment().items():
        click.echo(f"export {name}={shlex.quote(value)}")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                               "help_option_names": []})
@state_dir_option
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def dbt(state_dir, dbt_args):
    """Run dbt in-process on this project with the stack's addresses; dbt's exit code passes through.

    Every argument goes to dbt, `--help` included.

    Example: secmon dbt build -s website_user_metrics
    """
    from .dbt import run_dbt

    try:
        endpoints = stack.endpoints(state_dir)
    except SecmonError:
        endpoints = None  # e.g. `dbt compile -t risingwave` needs no local stack
    sys.exit(run_dbt(dbt_args, endpoints))


@cli.command()
@state_dir_option
@click.pass_context
def demo(ctx, state_dir):
    """Run the whole system on the embedded defaults (what `make demo` runs).

    Example: secmon demo
    """
    ctx.invoke(up, state_dir=state_dir)
    console.print("Stack is up. Point psql or Grafana at the PostgreSQL above; stop with `secmon down`.")
