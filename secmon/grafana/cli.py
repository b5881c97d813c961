"""`secmon dashboards`: build, push and preview the dashboards of dashboards/*.dashboard.py.

Registered by secmon.cli."""

from __future__ import annotations

import click

from secmon import console as render
from secmon import settings
from secmon.cli_options import build_dir_option, grafana_options, state_dir_option
from secmon.console import console
from secmon.core.endpoints import postgres_url


@click.group()
def dashboards():
    """Grafana dashboards and alert rules as code (dashboards/*.dashboard.py, grafanalib).

    Example: secmon dashboards build && secmon dashboards preview
    """


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


@dashboards.command(name="push")
@grafana_options(required=True)
def dashboards_push(grafana_url, token, user, password, datasource_uid):
    """Upload the dashboards into the `Security monitoring` folder and create or update the alert rules
    of the high-severity detections. Running it again changes nothing.

    Example: secmon dashboards push --grafana-url http://localhost:3000 --token "$GRAFANA_TOKEN"
    """
    from secmon.grafana.client import GrafanaClient, push_all

    changes = push_all(GrafanaClient(grafana_url, token, user, password), datasource_uid)
    console.print(render.grafana_changes_table(changes, grafana_url))


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
                console.print(render.preview_line(page))
    except KeyboardInterrupt:
        pass
