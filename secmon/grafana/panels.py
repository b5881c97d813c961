"""Shared building blocks of `dashboards/*.dashboard.py`: the datasource and the panels we use.

Every panel reads a view with one raw SQL query through the PostgreSQL datasource chosen by the
dashboard's `datasource` variable, so one JSON serves RisingWave and the local PostgreSQL alike.
Time series queries return a `time` column (and, for one series per value, a `metric` column);
the others use Grafana's table format.

Panels place themselves: each has a width (of Grafana's 24 columns) and a height, and
`secmon_dashboard` lays them out left to right in that order, starting a new row when one is
full, so adding a panel is one line in a dashboard file (`view_table("my_view")` is a whole one).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from grafanalib.core import (
    BarChart,
    Dashboard,
    GridPos,
    PieChartv2,
    Stat,
    Table,
    Template,
    Templating,
    Time,
    TimeSeries,
)

from secmon.errors import SecmonError
from secmon.manifest import SEVERITIES, models

DATASOURCE_TYPE = "grafana-postgresql-datasource"
# The provisioned datasources' uids (secmon.dashboards writes the provisioning files).
RISINGWAVE_DATASOURCE_UID = "secmon-risingwave"
LOCAL_DATASOURCE_UID = "secmon-local"
DATASOURCE = {"type": DATASOURCE_TYPE, "uid": "${datasource}"}

# Grafana 11 dashboards; an older version makes Grafana run its panel migrations on load.
SCHEMA_VERSION = 39
# Least to most severe, as manifest.SEVERITIES orders them.
SEVERITY_COLORS = dict(zip(SEVERITIES, ("yellow", "orange", "red", "dark-red"), strict=True))


def datasource_variable() -> Template:
    """The `datasource` variable: any PostgreSQL-type datasource, RisingWave by default."""
    return Template(
        name="datasource",
        label="Datasource",
        type="datasource",
        query=DATASOURCE_TYPE,
        default=RISINGWAVE_DATASOURCE_UID,
    )


GRID_COLUMNS = 24


def _size(width: int, height: int) -> GridPos:
    """A panel's size; `flow` sets its place."""
    return GridPos(h=height, w=width, x=0, y=0)


def flow(panels: list) -> list:
    """Gives each panel its grid position: left to right, a new row when the next one does not fit."""
    x = y = row_height = 0
    for panel in panels:
        width, height = panel.gridPos.w, panel.gridPos.h
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        panel.gridPos = GridPos(h=height, w=width, x=x, y=y)
        x, row_height = x + width, max(row_height, height)
    return panels


def secmon_dashboard(title: str, uid: str, description: str, panels: list, tags: list[str]) -> Dashboard:
    return Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=["secmon", *tags],
        panels=flow(panels),
        templating=Templating([datasource_variable()]),
        time=Time("now-1h", "now"),
        refresh="10s",
        schemaVersion=SCHEMA_VERSION,
        timezone="browser",
    )


def _target(sql: str, fmt: str) -> dict:
    # A plain dict: grafanalib's SqlTarget also writes Prometheus-era keys (expr, step, …).
    return {
        "refId": "A",
        "datasource": DATASOURCE,
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": sql.strip(),
    }


def time_series(
    title: str,
    sql: str,
    width: int = 12,
    height: int = 8,
    description: str = "",
    bars: bool = False,
    unit: str = "short",
) -> TimeSeries:
    """Lines (or bars) over time; `sql` returns `time`, optionally `metric`, and numbers."""
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        gridPos=_size(width, height),
        unit=unit,
        targets=[_target(sql, "time_series")],
        drawStyle="bars" if bars else "line",
        fillOpacity=60 if bars else 10,
        stacking={"mode": "normal" if bars else "none"},
        legendDisplayMode="list",
        legendPlacement="bottom",
    )


def bar_chart(
    title: str,
    sql: str,
    width: int = 12,
    height: int = 8,
    description: str = "",
    stacked: bool = False,
    horizontal: bool = False,
) -> BarChart:
    """One bar group per row: the first text column labels it, the numeric columns are the bars."""
    return BarChart(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        gridPos=_size(width, height),
        targets=[_target(sql, "table")],
        stacking="normal" if stacked else "none",
        orientation="horizontal" if horizontal else "auto",
        showValue="auto",
    )


def pie_chart(title: str, sql: str, width: int = 12, height: int = 8, description: str = "") -> PieChartv2:
    """One slice per row: the first text column names it, the first numeric column sizes it."""
    return PieChartv2(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        gridPos=_size(width, height),
        targets=[_target(sql, "table")],
        pieType="donut",
        reduceOptionsValues=True,
        reduceOptionsCalcs=["lastNotNull"],
        legendPlacement="right",
        legendValues=["value", "percent"],
    )


def table(
    title: str, sql: str, width: int = 12, height: int = 8, description: str = "", links: dict[str, str] | None = None
) -> Table:
    """`links`: title → URL, data links on every cell, which may name the row's values (explore_url makes one)."""
    return Table(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        gridPos=_size(width, height),
        targets=[_target(sql, "table")],
        filterable=True,
        extraJson={"fieldConfig": {"defaults": {"links": [data_link(*link) for link in (links or {}).items()]}}},
    )


def data_link(title: str, url: str) -> dict:
    """A data link (Grafana reads title and url), with the keys that Grafana's schema types it by (its
    DashboardLink) so that the dashboard validates."""
    return {
        "title": title,
        "url": url,
        "type": "link",
        "icon": "external link",
        "tooltip": title,
        "tags": [],
        "asDropdown": False,
        "targetBlank": False,
        "includeVars": False,
        "keepTime": False,
    }


def explore_url(sql: str) -> str:
    """Grafana Explore running `sql` as a table on the dashboard's datasource over its time range. `sql` may
    hold a data link's variables (`${__data.fields.<column>}`): they, and the datasource and range variables,
    are left unencoded so that Grafana fills them in when the link is followed."""
    pane = {
        "datasource": "${datasource}",
        "queries": [{**_target(sql, "table"), "datasource": {"type": DATASOURCE_TYPE, "uid": "${datasource}"}}],
        "range": {"from": "${__from}", "to": "${__to}"},
    }
    return "/explore?schemaVersion=1&orgId=1&panes=" + quote(json.dumps({"a": pane}), safe="${}:._")


def stat(title: str, sql: str, color: str, width: int = 4, height: int = 4, description: str = "") -> Stat:
    """One number; green at 0, `color` from 1 up."""
    return Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        gridPos=_size(width, height),
        targets=[_target(sql, "table")],
        reduceCalc="lastNotNull",
        graphMode="none",
        colorMode="background",
        thresholds=[{"color": "green", "value": None}, {"color": color, "value": 1}],
    )


def view_table(view: str, width: int = 24, height: int = 8, rows: int = 50) -> Table:
    """A view's newest rows, titled and described from its yml entry: a panel in one line."""
    model = models().get(view)
    if model is None:
        raise SecmonError(f"view_table({view!r}): the dbt project has no model {view!r}")
    return table(
        view.replace("_", " ").capitalize(),
        width=width,
        height=height,
        description=model.description,
        sql=f"""
select *
from {view}
where $__timeFilter(window_start)
order by window_start desc
limit {rows}
""",
    )
