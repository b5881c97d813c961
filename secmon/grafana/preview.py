"""`secmon dashboards preview`: each dashboard as one self-contained HTML page, without Grafana.

The page uses the dashboard JSON that `build` writes: the same 24-column grid, the same panel
queries (Grafana's macros expanded for the time range) run against the local engine, and Plotly
charts for time series, bar and pie panels; tables and stats are plain HTML.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import plotly.graph_objects as go
import plotly.io
import psycopg2
from plotly.offline import get_plotlyjs
from psycopg2 import sql as pgsql

from secmon.errors import SecmonError
from secmon.grafana.dashboards import Panel, expand_macros, load_all, panels_of, resolve_time

# Grafana's dark theme and named colours.
PAGE_COLOR, PANEL_COLOR, TEXT_COLOR, GRID_COLOR = "#111217", "#181b1f", "#ccccdc", "#2c3235"
NAMED_COLORS = {
    "green": "#73bf69",
    "red": "#f2495c",
    "dark-red": "#c4162a",
    "orange": "#ff9830",
    "yellow": "#fade2a",
    "blue": "#5794f2",
}
ROW_HEIGHT_PX, GAP_PX = 30, 8


@dataclass
class Result:
    """One panel's query result, or the error the query raised."""

    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    error: str | None = None

    def text_columns(self) -> list[int]:
        return [i for i in range(len(self.columns)) if self._all(i, str)]

    def numeric_columns(self) -> list[int]:
        return [i for i in range(len(self.columns)) if self._all(i, (int, float, Decimal)) and not self._all(i, bool)]

    def _all(self, index: int, kind) -> bool:
        values = [row[index] for row in self.rows if row[index] is not None]
        return bool(values) and all(isinstance(value, kind) for value in values)

    def column(self, index: int) -> list:
        return [_plain(row[index]) for row in self.rows]


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def run_queries(dashboard: dict, pg_url: str, schema: str, start: datetime, end: datetime) -> dict[int, Result]:
    """Each panel's query against the database, by panel id; a failing query is kept as its error."""
    results = {}
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(pgsql.SQL("set search_path to {}, public").format(pgsql.Identifier(schema)))
        for panel in panels_of(dashboard):
            cur.execute("savepoint panel")
            try:
                cur.execute(expand_macros(panel.sql, start, end))
                results[panel.id] = Result([column.name for column in cur.description], cur.fetchall())
            except psycopg2.Error as exc:
                cur.execute("rollback to savepoint panel")
                results[panel.id] = Result(error=str(exc).strip().splitlines()[0])
    conn.close()
    return results


def render(
    dashboard: dict,
    results: dict[int, Result],
    start: datetime,
    end: datetime,
    refresh_seconds: int | None = None,
    links: dict[str, str] | None = None,
) -> str:
    """The dashboard as a self-contained HTML page."""
    panels_html = "\n".join(_panel_html(panel, results[panel.id]) for panel in panels_of(dashboard))
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    nav = " · ".join(f'<a href="{html.escape(href)}">{html.escape(title)}</a>' for title, href in (links or {}).items())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _PAGE.format(
        title=html.escape(dashboard["title"]),
        refresh=refresh,
        plotly=get_plotlyjs(),
        nav=nav,
        panels=panels_html,
        range=f"{start:%Y-%m-%d %H:%M:%S} → {end:%H:%M:%S} UTC",
        generated=generated,
        description=html.escape(dashboard.get("description", "")),
        page=PAGE_COLOR,
        panel=PANEL_COLOR,
        text=TEXT_COLOR,
        grid=GRID_COLOR,
        row=ROW_HEIGHT_PX,
        gap=GAP_PX,
    )


def _panel_html(panel: Panel, result: Result) -> str:
    grid = panel.grid
    if result.error:
        body, drawn = f'<div class="error">{html.escape(result.error)}</div>', False
    elif not result.rows:
        body, drawn = '<div class="nodata">No data</div>', False
    else:
        body, drawn = _RENDERERS[panel.type](panel, result)
    return (
        f'<section class="panel panel-{panel.type}" id="panel-{panel.id}" data-panel-type="{panel.type}" '
        f'data-rows="{len(result.rows)}" data-drawn="{"true" if drawn else "false"}" '
        f'style="grid-column: {grid["x"] + 1} / span {grid["w"]}; grid-row: {grid["y"] + 1} / span {grid["h"]}">'
        f'<h2>{html.escape(panel.title)}</h2><div class="body">{body}</div></section>'
    )


def _chart(panel: Panel, figure: go.Figure) -> tuple[str, bool]:
    """A Plotly chart; the page marks the panel drawn once Plotly has rendered it."""
    figure.update_layout(
        template="plotly_dark",
        paper_bgcolor=PANEL_COLOR,
        plot_bgcolor=PANEL_COLOR,
        font={"color": TEXT_COLOR, "size": 11},
        margin={"l": 40, "r": 10, "t": 4, "b": 30},
        legend={"orientation": "h", "y": -0.15},
        autosize=True,
    )
    figure.update_xaxes(gridcolor=GRID_COLOR, automargin=True)
    figure.update_yaxes(gridcolor=GRID_COLOR, automargin=True)
    chart_id = f"chart-{panel.id}"
    script = (
        f"Plotly.newPlot('{chart_id}', ...(f => [f.data, f.layout])({plotly.io.to_json(figure)}), "
        "{displayModeBar: false, responsive: true})"
        f".then(() => document.getElementById('panel-{panel.id}').dataset.drawn = 'true');"
    )
    # data-drawn is set by the script, not here: a chart counts as drawn only when Plotly drew it.
    return f'<div class="chart" id="{chart_id}"></div><script>{script}</script>', False


def _time_series(panel: Panel, result: Result) -> tuple[str, bool]:
    """Grafana's time_series format: `time`, an optional `metric` naming the series, numbers."""
    names = result.columns
    time_index = names.index("time")
    metric_index = names.index("metric") if "metric" in names else None
    values = [i for i in result.numeric_columns() if i != time_index]
    bars = panel.field_config.get("defaults", {}).get("custom", {}).get("drawStyle") == "bars"
    series: dict[str, tuple[list, list]] = {}
    for row in result.rows:
        for index in values:
            if metric_index is None:
                name = names[index]
            else:
                name = row[metric_index] if len(values) == 1 else f"{row[metric_index]} {names[index]}"
            xs, ys = series.setdefault(name, ([], []))
            xs.append(_plain(row[time_index]))
            ys.append(_plain(row[index]))
    trace = go.Bar if bars else go.Scatter
    figure = go.Figure([trace(x=xs, y=ys, name=name) for name, (xs, ys) in series.items()])
    figure.update_layout(barmode="stack")
    return _chart(panel, figure)


def _bar_chart(panel: Panel, result: Result) -> tuple[str, bool]:
    labels = result.column(result.text_columns()[0])
    horizontal = panel.options.get("orientation") == "horizontal"
    traces = []
    for index in result.numeric_columns():
        values = result.column(index)
        traces.append(
            go.Bar(x=values, y=labels, orientation="h", name=result.columns[index])
            if horizontal
            else go.Bar(x=labels, y=values, name=result.columns[index])
        )
    figure = go.Figure(traces)
    figure.update_layout(barmode="stack" if panel.options.get("stacking") == "normal" else "group")
    if horizontal:
        figure.update_yaxes(autorange="reversed", type="category")
    else:
        figure.update_xaxes(type="category")
    return _chart(panel, figure)


def _pie_chart(panel: Panel, result: Result) -> tuple[str, bool]:
    figure = go.Figure(
        [
            go.Pie(
                labels=result.column(result.text_columns()[0]),
                values=result.column(result.numeric_columns()[0]),
                hole=0.45 if panel.options.get("pieType") == "donut" else 0,
                sort=False,
                textposition="inside",
            )
        ]
    )
    figure.update_layout(legend={"orientation": "v", "x": 1.02, "y": 0.5}, uniformtext={"minsize": 10, "mode": "hide"})
    return _chart(panel, figure)


def _table(panel: Panel, result: Result) -> tuple[str, bool]:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in result.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(value))}</td>" for value in row) + "</tr>" for row in result.rows
    )
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>', True


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()):
        return f"{int(value):,}"
    if isinstance(value, (float, Decimal)):
        return f"{value:,.2f}"
    return str(value)


def _stat(panel: Panel, result: Result) -> tuple[str, bool]:
    value = result.rows[-1][result.numeric_columns()[0]]
    color = "green"
    for step in panel.field_config.get("defaults", {}).get("thresholds", {}).get("steps", []):
        if step["value"] is None or value >= step["value"]:
            color = step["color"]
    return (
        f'<div class="stat" style="background: {NAMED_COLORS.get(color, color)}">'
        f'<span class="value">{html.escape(_cell(value))}</span></div>'
    ), True


_RENDERERS = {
    "timeseries": _time_series,
    "barchart": _bar_chart,
    "piechart": _pie_chart,
    "table": _table,
    "stat": _stat,
}


class Page(NamedTuple):
    path: Path
    panels: int
    panels_with_data: int
    errors: list[str]


def write_pages(
    dashboards: dict[str, dict],
    pg_url: str,
    schema: str,
    output: Path,
    start: datetime,
    end: datetime,
    refresh_seconds: int | None = None,
) -> list[Page]:
    """Render every dashboard to `output/<uid>.html`, plus `index.html`; each file is replaced atomically."""
    output.mkdir(parents=True, exist_ok=True)
    links = {dashboard["title"]: f"{uid}.html" for uid, dashboard in dashboards.items()}
    pages = []
    for uid, dashboard in dashboards.items():
        results = run_queries(dashboard, pg_url, schema, start, end)
        path = _write_atomically(output / f"{uid}.html", render(dashboard, results, start, end, refresh_seconds, links))
        errors = [
            f"{panel.title}: {results[panel.id].error}" for panel in panels_of(dashboard) if results[panel.id].error
        ]
        pages.append(Page(path, len(results), sum(1 for result in results.values() if result.rows), errors))
    index = "".join(f'<li><a href="{html.escape(href)}">{html.escape(title)}</a></li>' for title, href in links.items())
    _write_atomically(
        output / "index.html",
        f'<!doctype html><meta charset="utf-8"><title>secmon dashboards</title>'
        f"<h1>secmon dashboards</h1><ul>{index}</ul>",
    )
    return pages


def _write_atomically(path: Path, text: str) -> Path:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text)
    os.replace(partial, path)
    return path


def time_range(
    dashboards: dict[str, dict], time_from: str | None = None, time_to: str | None = None
) -> tuple[datetime, datetime]:
    """The range to render now: the given ends, else the dashboards' own (`now-1h` to `now`)."""
    now = datetime.now(UTC)
    default = next(iter(dashboards.values()))["time"]
    time_from, time_to = time_from or default["from"], time_to or default["to"]
    start, end = resolve_time(time_from, now), resolve_time(time_to, now)
    if start >= end:
        raise SecmonError(f"the time range is empty: --from {time_from} is not before --to {time_to}")
    return start, end


def preview(
    pg_url: str,
    schema: str,
    output: Path,
    time_from: str | None = None,
    time_to: str | None = None,
    refresh_seconds: int | None = None,
) -> Iterator[list[Page]]:
    """Render all dashboards once, or every `refresh_seconds` for ever; yield each round's pages.

    The time range is each dashboard's own (`now-1h` to `now`) unless given.
    """
    dashboards = load_all()
    while True:
        start, end = time_range(dashboards, time_from, time_to)
        yield write_pages(dashboards, pg_url, schema, output, start, end, refresh_seconds)
        if not refresh_seconds:
            return
        time.sleep(refresh_seconds)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">{refresh}
<title>{title} · secmon preview</title>
<style>
  body {{ margin: 0; background: {page}; color: {text}; font: 13px/1.4 Inter, Helvetica, Arial, sans-serif; }}
  header {{ padding: 10px 16px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }}
  header h1 {{ font-size: 18px; margin: 0; font-weight: 500; }}
  header a {{ color: #6e9fff; }}
  .muted {{ color: #8e8e98; }}
  main {{ display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: {row}px; gap: {gap}px;
          padding: 0 16px 16px; }}
  .panel {{ background: {panel}; border: 1px solid {grid}; border-radius: 2px; display: flex; flex-direction: column;
            min-width: 0; overflow: hidden; }}
  .panel h2 {{ font-size: 13px; font-weight: 500; margin: 0; padding: 6px 8px; }}
  .body {{ flex: 1; min-height: 0; position: relative; }}
  .chart {{ position: absolute; inset: 0; }}
  .table {{ position: absolute; inset: 0; overflow: auto; }}
  table {{ border-collapse: collapse; width: 100%; font-size: 12px; }}
  th {{ position: sticky; top: 0; background: {panel}; text-align: left; color: #6e9fff; font-weight: 500; }}
  th, td {{ padding: 3px 8px; border-bottom: 1px solid {grid}; white-space: nowrap; }}
  .stat {{ position: absolute; inset: 0 6px 6px; display: flex; align-items: center; justify-content: center;
           border-radius: 2px; }}
  .stat .value {{ font-size: 32px; font-weight: 500; color: #fff; }}
  .nodata, .error {{ padding: 8px; color: #8e8e98; }}
  .error {{ color: #f2495c; }}
</style>
<script>{plotly}</script>
</head><body>
<header><h1>{title}</h1><span class="muted">{range}</span><span class="muted">generated {generated}</span>
<nav>{nav}</nav></header>
<p class="muted" style="margin: 0 16px 8px">{description}</p>
<main>
{panels}
</main>
</body></html>
"""
