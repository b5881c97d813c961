"""`secmon decisions`: the commands over secmon.decisions (bans for CrowdSec's bouncers, exports).

Registered by secmon.cli, whose option decorators it uses: import it through `secmon.cli`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from secmon import settings
from secmon.cli import _origin, _trusted, console, endpoint_options, json_option, state_dir_option
from secmon.core.endpoints import resolve_endpoints

PEM_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def never_banned_option(fn):
    return click.option(
        "--trusted-proxy",
        "trusted_proxies",
        multiple=True,
        metavar="CIDR",
        help="Never banned (repeatable): your proxies and load balancers, as given to `secmon follow`.",
    )(fn)


@click.group()
def decisions():
    """Ban decisions from the alerts, for CrowdSec's bouncers (firewall, nginx, Cloudflare, …).

    Example: secmon decisions serve --listen 0.0.0.0:8080
    """


@decisions.command(name="add-bouncer")
@state_dir_option
@click.argument("name")
def decisions_add_bouncer(state_dir, name):
    """Make a key for the bouncer NAME and print it, once (only its SHA-256 digest is kept), as
    `cscli bouncers add` does. Put it in the bouncer's `api_key`.

    Example: secmon decisions add-bouncer firewall
    """
    from secmon.decisions import add_bouncer

    click.echo(add_bouncer(state_dir, name))


def _current_decisions(state_dir, bootstrap_servers, pg_url, trusted_proxies, now=None) -> dict:
    from datetime import UTC, datetime

    import psycopg2

    from secmon.decisions import Allowlist, BanPolicy, active_decisions

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    with psycopg2.connect(endpoints.pg_url) as conn:
        current = active_decisions(
            conn,
            settings.pg_schema(),
            BanPolicy.from_project(),
            Allowlist.from_settings(_trusted(trusted_proxies)),
            now or datetime.now(UTC),
        )
    conn.close()
    return current


@decisions.command(name="list")
@state_dir_option
@endpoint_options
@never_banned_option
@json_option
def decisions_list(state_dir, bootstrap_servers, pg_url, trusted_proxies, as_json):
    """Print the bans in force now, as the bouncers receive them.

    Example: secmon decisions list --json
    """
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    current = _current_decisions(state_dir, bootstrap_servers, pg_url, trusted_proxies, now)
    for decision in current.values():
        document = decision.to_json(now)
        if as_json:
            click.echo(json.dumps(document))
        else:
            click.echo(
                f"{document['value']:<40} ban until {document['until']}  {document['scenario']}  "
                f"[{_origin(document['value'])}]"
            )


@decisions.command(name="export")
@state_dir_option
@endpoint_options
@never_banned_option
@click.option(
    "--nginx", "nginx_file", type=click.Path(dir_okay=False, path_type=Path), help="Write an nginx `deny` include here."
)
@click.option(
    "--nftables",
    "nft_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write an `nft -f` script of sets here.",
)
@click.option("--reload", "reload_command", help="Run this (e.g. `nginx -s reload`) when a file changed.")
def decisions_export(state_dir, bootstrap_servers, pg_url, trusted_proxies, nginx_file, nft_file, reload_command):
    """Write the bans in force now as files for edges without a bouncer, each written whole (a rename):
    an nginx include of `deny` lines, and an nftables script that refills the sets `blacklist` of the
    tables ip/ip6 `secmon` (as `ipset restore` does). Run it from cron or a timer.

    Example: secmon decisions export --nginx /etc/nginx/secmon-deny.conf --reload "nginx -s reload"
    """
    import subprocess

    from secmon.core.files import write_text
    from secmon.decisions import nftables_sets, nginx_deny

    current = _current_decisions(state_dir, bootstrap_servers, pg_url, trusted_proxies)
    changed = False
    for path, text in ((nginx_file, nginx_deny(current.values())), (nft_file, nftables_sets(current.values()))):
        if path is not None and (not path.exists() or path.read_text() != text):
            write_text(path, text, 0o644)
            changed = True
    console.print(f"{len(current)} bans written" + ("" if changed else ", unchanged"))
    if changed and reload_command:
        subprocess.run(reload_command, shell=True, check=True)  # noqa: S602 — the user's own command line


@decisions.command(name="serve")
@state_dir_option
@endpoint_options
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to answer bouncers on.")
@never_banned_option
@click.option("--cert", "certificate", type=PEM_FILE, help="TLS certificate (PEM).")
@click.option("--key", "private_key", type=PEM_FILE, help="Its private key (PEM).")
def decisions_serve(state_dir, bootstrap_servers, pg_url, listen, trusted_proxies, certificate, private_key):
    """Answer CrowdSec bouncers as CrowdSec's local API does (GET /v1/decisions/stream, X-Api-Key):
    point a bouncer's `api_url` here and give it a key from `secmon decisions add-bouncer`.

    Example: secmon decisions serve --listen 0.0.0.0:8080 --cert tls.crt --key tls.key
    """
    from secmon.decisions import make_server

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    server = make_server(listen, endpoints.pg_url, state_dir, None, _trusted(trusted_proxies), certificate, private_key)
    scheme = "https" if certificate else "http"
    console.print(f"decisions for bouncers at {scheme}://{listen}/v1/decisions/stream (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
