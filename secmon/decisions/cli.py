"""`secmon decisions`: the commands over secmon.decisions (bans for CrowdSec's bouncers, exports).

Registered by secmon.cli; the option decorators come from secmon.cli_options, shared with it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import click

from secmon import settings
from secmon.alert_feed import origin
from secmon.cli_options import endpoint_options, json_option, parse_trusted, state_dir_option
from secmon.core.endpoints import read_state, resolve_endpoints

PEM_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def never_banned_option(fn):
    return click.option(
        "--trusted-proxy",
        "trusted_proxies",
        multiple=True,
        metavar="CIDR",
        help="Never banned (repeatable): your proxies and load balancers, as given to `secmon follow`.",
    )(fn)


def allowlist_option(fn):
    return click.option(
        "--allowlist",
        "allowlist_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A file of ranges never banned, one a line, read again on every pull (with var decision_allowlist "
        "and the site's own addresses that `secmon follow` keeps in the state directory).",
    )(fn)


def bans_options(fn):
    """Where the alerts are, and what is never banned: the options of every command that reads bans."""
    return state_dir_option(endpoint_options(never_banned_option(allowlist_option(fn))))


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
    from secmon.decisions.keys import add_bouncer

    click.echo(add_bouncer(state_dir, name))


@decisions.command(name="bouncers")
@state_dir_option
@click.argument("action", type=click.Choice(["list", "revoke"]), default="list")
@click.argument("name", required=False)
def decisions_bouncers(state_dir, action, name):
    """List the bouncers (when each key was made, each address it pulled from and its last pull), or
    revoke the key of the bouncer NAME: its next request is refused (403), and its cursors go.

    Example: secmon decisions bouncers revoke firewall
    """
    from secmon.decisions.keys import read_bouncers, revoke_bouncer
    from secmon.decisions.stream import Ledger

    if action == "revoke" and not name:
        raise click.UsageError("revoke takes the bouncer's NAME")
    ledger = Ledger(state_dir)
    try:
        if action == "revoke":
            revoke_bouncer(state_dir, name)
            ledger.forget(name)
            click.echo(f"bouncer {name} revoked")
            return
        pulls = ledger.pulls()
    finally:
        ledger.close()
    for bouncer, entry in read_bouncers(state_dir).items():
        seen = ", ".join(f"{client} at {at:%Y-%m-%dT%H:%M:%SZ}" for client, at in pulls.get(bouncer, []))
        click.echo(f"{bouncer:<24} key made {entry['created_at'][:19]}Z  last pulls: {seen or 'never'}")


@decisions.command(name="delete")
@state_dir_option
@click.option("--ip", "address", required=True, help="The banned address (or range) to lift.")
@click.option("--reason", default="lifted by the operator", show_default=True, help="Why, kept with the lift.")
def decisions_delete(state_dir, address, reason):
    """Lift the ban of an address everywhere: each bouncer's next pull deletes it, the next export
    leaves it out, and it stays lifted for the alerts so far (a new attack bans it again).

    Example: secmon decisions delete --ip 203.0.113.50 --reason "partner's gateway"
    """
    from secmon.decisions.policy import canonical_entity
    from secmon.decisions.stream import Ledger

    try:
        value = canonical_entity(address)
    except ValueError as exc:
        raise click.BadParameter(f"{address!r}: {exc}", param_hint="--ip") from None
    ledger = Ledger(state_dir)
    ledger.lift(value, datetime.now(UTC), reason)
    ledger.close()
    click.echo(f"{value} lifted: each bouncer's next pull deletes it")


def ban_rules(state_dir: Path, trusted_proxies, allowlist_file: Path | None):
    """(policy, allowlist, lifts) as they are now: what decides whether an alert bans."""
    from secmon.core.own_addresses import own_addresses_path
    from secmon.decisions.policy import Allowlist, BanPolicy
    from secmon.decisions.stream import Ledger

    allowlist = Allowlist.from_settings(parse_trusted(trusted_proxies), allowlist_file, own_addresses_path(state_dir))
    ledger = Ledger(state_dir)
    lifts = ledger.lifts()
    ledger.close()
    return BanPolicy.from_project(), allowlist, lifts


def _bans(state_dir, bootstrap_servers, pg_url, trusted_proxies, allowlist_file, now) -> dict:
    """The bans in force at `now`, read as the read-only role; a verified crawler's are left out."""
    import psycopg2

    from secmon.decisions.crawlers import crawler_gate
    from secmon.decisions.policy import decisions_from_alerts, read_alerts

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    policy, allowlist, lifts = ban_rules(state_dir, trusted_proxies, allowlist_file)
    schema = settings.pg_schema()
    with psycopg2.connect(endpoints.reader_url) as conn:
        rows = read_alerts(conn, schema, policy, now)
        crawlers = crawler_gate(conn, schema, policy.crawler_only)
        bans = decisions_from_alerts(rows, policy, allowlist, now, lifts, crawlers=crawlers)
    conn.close()
    return bans


def _warn_unguarded(state_dir: Path) -> None:
    """One line when the embedded broker has no guard: then any local user can forge events, so bans."""
    from secmon.stack import firewall

    reason = firewall.unavailable_reason()
    if reason is not None and read_state(state_dir).get("kafka", {}).get("managed"):
        click.echo(  # one line, unwrapped, whatever the terminal
            f"warning: the broker guard cannot be set here ({reason}): any local user can publish "
            "events to the embedded broker, and so forge bans",
            err=True,
        )


@decisions.command(name="list")
@bans_options
@json_option
def decisions_list(state_dir, bootstrap_servers, pg_url, trusted_proxies, allowlist_file, as_json):
    """Print the bans in force now, as the bouncers receive them.

    Example: secmon decisions list --json
    """
    now = datetime.now(UTC)
    for decision in _bans(state_dir, bootstrap_servers, pg_url, trusted_proxies, allowlist_file, now).values():
        document = decision.to_json(now)
        if as_json:
            click.echo(json.dumps(document))
        else:
            click.echo(
                f"{document['value']:<40} ban until {document['until']}  {document['scenario']}  "
                f"[{origin(document['value'])}]"
            )


@decisions.command(name="export")
@bans_options
@click.option(
    "--nginx", "nginx_file", type=click.Path(dir_okay=False, path_type=Path), help="Write an nginx `deny` include here."
)
@click.option(
    "--nftables",
    "nft_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write an `nft -f` script of sets here.",
)
@click.option(
    "--check",
    "check_command",
    help="Run this on each new file before it replaces the old one ({} is its path, else appended), "
    "e.g. `nft -c -f`; a failure keeps the old file.",
)
@click.option("--reload", "reload_command", help="Run this (e.g. `nginx -s reload`) when a file changed.")
def decisions_export(
    state_dir, bootstrap_servers, pg_url, trusted_proxies, allowlist_file, nginx_file, nft_file, check_command,
    reload_command,
):  # fmt: skip
    """Write the bans in force now as files for edges without a bouncer: an nginx include of `deny`
    lines, and an nftables script that refills the sets `blacklist` of the tables ip/ip6 `secmon` (as
    `ipset restore` does). Each new file is checked, then renamed into place, then the reload runs; a
    failed reload is run again by the next export. Run it from cron or a timer.

    Example: secmon decisions export --nftables /etc/bans.nft --check "nft -c -f" --reload "nft -f /etc/bans.nft"
    """
    from secmon.decisions.exports import ExportFailed, export, nftables_sets, nginx_deny

    _warn_unguarded(state_dir)
    current = _bans(state_dir, bootstrap_servers, pg_url, trusted_proxies, allowlist_file, datetime.now(UTC))
    files = {
        path: render(current.values())
        for path, render in ((nginx_file, nginx_deny), (nft_file, nftables_sets))
        if path is not None
    }
    try:
        result = export(state_dir, files, check_command, reload_command)
    except ExportFailed as exc:
        raise click.ClickException(f"{exc}; the files in place are unchanged where the check failed") from None
    reloaded = ", reloaded" if result.reloaded else ""
    click.echo(f"{len(current)} bans, {len(result.changed)} files written{reloaded}")


@decisions.command(name="serve")
@bans_options
@click.option(
    "--listen",
    multiple=True,
    default=["127.0.0.1:8080"],
    show_default=True,
    help="HOST:PORT to answer bouncers on (repeatable); [::]:PORT for IPv6 and IPv4.",
)
@click.option("--cert", "certificate", type=PEM_FILE, help="TLS certificate (PEM).")
@click.option("--key", "private_key", type=PEM_FILE, help="Its private key (PEM).")
def decisions_serve(
    state_dir, bootstrap_servers, pg_url, trusted_proxies, allowlist_file, listen, certificate, private_key
):
    """Answer CrowdSec bouncers as CrowdSec's local API does (GET /v1/decisions/stream, X-Api-Key):
    point a bouncer's `api_url` here and give it a key from `secmon decisions add-bouncer`.

    Example: secmon decisions serve --listen 0.0.0.0:8080 --cert tls.crt --key tls.key
    """
    from secmon.decisions.server import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    _warn_unguarded(state_dir)
    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    server = make_server(
        listen,
        endpoints.reader_url,
        state_dir,
        trusted_proxies=parse_trusted(trusted_proxies),
        certificate=certificate,
        private_key=private_key,
        allowlist_file=allowlist_file,
    )
    scheme = "https" if certificate else "http"
    where = ", ".join(f"{scheme}://{address}/v1/decisions/stream" for address in listen)
    click.echo(f"decisions for bouncers at {where} (Ctrl-C stops)")
    try:
        server.serve_forever()  # until Ctrl-C or SIGTERM
    finally:
        server.shutdown()


@click.command(name="explain")
@bans_options
@json_option
@click.argument("alert_id")
def explain(state_dir, bootstrap_servers, pg_url, trusted_proxies, allowlist_file, as_json, alert_id):
    """Show the requests behind the alert ALERT_ID (its entity's requests in its window), what each
    matched, and why the alert did or did not ban: the policy, the allowlist and the site's own
    addresses, a verified crawler (asked of DNS), a lift. Give the options `secmon decisions` gets.

    Example: secmon explain 5d41402abc4b2a76b9719d911017c592 --allowlist /etc/secmon/allowlist.txt
    """
    import psycopg2

    from secmon.decisions.crawlers import crawler_gate
    from secmon.explain import explain_alert, print_explanation

    endpoints = resolve_endpoints(state_dir, bootstrap_servers, pg_url)
    policy, allowlist, lifts = ban_rules(state_dir, trusted_proxies, allowlist_file)
    schema = settings.pg_schema()
    with psycopg2.connect(endpoints.reader_url) as conn:
        explanation = explain_alert(
            conn,
            schema,
            alert_id,
            policy=policy,
            allowlist=allowlist,
            lifts=lifts,
            crawlers=crawler_gate(conn, schema, policy.crawler_only),
            now=datetime.now(UTC),
        )
    conn.close()
    if as_json:
        click.echo(json.dumps(explanation.to_json()))
    else:
        print_explanation(explanation)
