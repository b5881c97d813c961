"""The options several `secmon` commands share, as decorators, and the parsing of their values:
a bad value is a click.BadParameter naming the option."""

from __future__ import annotations

from pathlib import Path

import click

from secmon import settings


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


def rate_option(fn):
    """The generated normal traffic's rate (`produce`, `demo`)."""
    return click.option("--rate", default=100.0, show_default=True, help="Normal traffic, events per second.")(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def parse_start(value: str | None) -> int | None:
    if value is None:
        return None
    from secmon.core.events import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 timestamp", param_hint="--start") from None


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


def parse_line_format(log_format: str, declared: str | None):
    """The --format name, or the --log-format compiled: what a LineParser is given."""
    from secmon.core.logs.formats import declared_format

    if declared is None:
        return log_format
    try:
        return declared_format(declared, settings.PROJECT_DIR)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--log-format") from None


def parse_trusted(trusted_proxies: tuple[str, ...]):
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


def build_dir_option(default: Path, help_text: str):
    return click.option(
        "--output", type=click.Path(file_okay=False, path_type=Path), default=default, show_default=True, help=help_text
    )


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
