"""Shared building blocks of `dashboards/*.dashboard.py`: the datasource and the panels we use.

Every panel reads a view with one raw SQL query through the PostgreSQL datasource chosen by the
dashboard's `datasource` variable, so one JSON serves RisingWave and the local PostgreSQL alike.
Time series queries return a `time` column (and, for one series per value, a `metric` column);
the others use Grafana's table format.
"""

from __future__ import annotations

from grafanalib.core import BarChart, Dashboard, GridPos, PieChartv2, Stat, Table, Template, Templating, Time, TimeSeries

DATASOURCE_TYPE = "grafana-postgresql-datasource"
# The provisioned datasources' uids (secmon.dashboards writes the provisioning files).
RISINGWAVE_DATASOURCE_UID = "secmon-risingwave"
LOCAL_DATASOURCE_UID = "secmon-local"
DATASOURCE = {"type": DATASOURCE_TYPE, "uid": "${datasource}"}

# Grafana 11 dashboards; an older version makes Grafana run its panel migrations on load.
SCHEMA_VERSION = 39
SEVERITY_COLORS = {"critical": "dark-red", "high": "red", "medium": "orange", "low": "yellow"}


def datasource_variable() -> Template:
    """The `datasource` variable: any PostgreSQL-type datasource, RisingWave by default."""
    return Template(name="datasource", label="Datasource", type="datasource", query=DATASOURCE_TYPE,
                    default=RISINGWAVE_DATASOURCE_UID)


def secmon_dashboard(title: str, uid: str, description: str, panels: list, tags: list[str]) -> Dashboard:
    return Dashboard(title=title, uid=uid, description=description, tags=["secmon", *tags], panels=panels,
                     templating=Templating([datasource_variable()]), time=Time("now-1h", "now"), refresh="10s",
                     schemaVersion=SCHEMA_VERSION, timezone="browser")


def _target(sql: str, fmt: str) -> dict:
    # A plain dict: grafanalib's SqlTarget also writes Prometheus-era keys (expr, step, …).
    return {"refId": "A", "datasource": DATASOURCE, "editorMode": "code", "format": fmt, "rawQuery": True,
            "rawSql": sql.strip()}


def time_series(title: str, sql: str, grid: GridPos, description: str = "", bars: bool = False,
                unit: str = "short") -> TimeSeries:
    """Lines (or bars) over time; `sql` returns `time`, optionally `metric`, and numbers."""
    return TimeSeries(title=title, description=description, dataSource=DATASOURCE, gridPos=grid, unit=unit,
                      targets=[_target(sql, "time_series")], drawStyle="bars" if bars else "line",
                      fillOpacity=60 if bars else 10, stacking={"mode": "normal" if bars else "none"},
                      legendDisplayMode="list", legendPlacement="bottom")


def bar_chart(title: str, sql: str, grid: GridPos, description: str = "", stacked: bool = False,
              horizontal: bool = False) -> BarChart:
    """One bar group per row: the first text column labels it, the numeric columns are the bars."""
    return BarChart(title=title, description=description, dataSource=DATASOURCE, gridPos=grid,
                    targets=[_target(sql, "table")], stacking="normal" if stacked else "none",
                    orientation="horizontal" if horizontal else "auto", showValue="auto")


def pie_chart(title: str, sql: str, grid: GridPos, description: str = "") -> PieChartv2:
    """One slice per row: the first text column names it, the first numeric column sizes it."""
    return PieChartv2(title=title, description=description, dataSource=DATASOURCE, gridPos=grid,
                      targets=[_target(sql, "table")], pieType="donut", reduceOptionsValues=True,
                      reduceOptionsCalcs=["lastNotNull"], legendPlacement="right",
                      legendValues=["value", "percent"])


def table(title: str, sql: str, grid: GridPos, description: str = "") -> Table:
    return Table(title=title, description=description, dataSource=DATASOURCE, gridPos=grid,
                 targets=[_target(sql, "table")], filterable=True)


def stat(title: str, sql: str, grid: GridPos, color: str, description: str = "") -> Stat:
    """One number; green at 0, `color` from 1 up."""
    return Stat(title=title, description=description, dataSource=DATASOURCE, gridPos=grid,
                targets=[_target(sql, "table")], reduceCalc="lastNotNull", graphMode="none", colorMode="background",
                thresholds=[{"color": "green", "value": None}, {"color": color, "value": 1}])
