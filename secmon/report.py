"""Rich tables of the views' latest complete windows, for the demo.

Every windowed view of the manifest that is not a detection gets a table (detections show in the
alerts table). A view's yml `config.meta` may choose the columns shown (`summary_columns`, default:
all but the window's) and their order (`summary_order`, default: by the first column).
"""

from __future__ import annotations

from decimal import Decimal

import psycopg2
from psycopg2 import sql
from rich.table import Table

from secmon import settings
from secmon.manifest import metric_views

WINDOW_COLUMNS = ("window_start", "window_end")


def _cell(value) -> str:
    if isinstance(value, (float, Decimal)):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def alerts_table(pg_url: str, schema: str, rows: int = 12) -> Table:
    """The newest alerts."""
    columns = ("window_start", "severity", "detection", "entity", "target_username", "event_count")
    table = Table(title=f"{settings.ALERTS_TABLE} — newest", title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=True)
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("select {} from {}.{} order by window_start desc, detection limit %s").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier(schema),
                sql.Identifier(settings.ALERTS_TABLE),
            ),
            (rows,),
        )
        for row in cur.fetchall():
            table.add_row(row[0].strftime("%H:%M"), *map(_cell, row[1:]))
    conn.close()
    return table


def latest_window_tables(pg_url: str, schema: str, rows_per_view: int = 8) -> list[Table]:
    """One table per metric view: its rows in the newest window that has ended (or the newest at all)."""
    tables = []
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        for view in metric_views():
            relation = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(view.name))
            cur.execute(
                sql.SQL(
                    "select max(window_start) filter (where window_end <= now()), max(window_start) from {}"
                ).format(relation)
            )
            closed, newest = cur.fetchone()
            window = closed or newest
            if window is None:
                continue
            chosen = view.meta.get("summary_columns")
            columns = sql.SQL(", ").join(map(sql.Identifier, chosen)) if chosen else sql.SQL("*")
            cur.execute(
                sql.SQL("select {} from {} where window_start = %s order by {} limit %s").format(
                    columns, relation, sql.SQL(view.meta.get("summary_order", "1"))
                ),
                (window, rows_per_view),
            )
            names = [column.name for column in cur.description]
            shown = [index for index, name in enumerate(names) if name not in WINDOW_COLUMNS]
            table = Table(title=f"{view.name} — window {window:%Y-%m-%d %H:%M} UTC", title_justify="left")
            for row_index, row in enumerate(cur.fetchall()):
                if row_index == 0:
                    for index in shown:
                        table.add_column(names[index], justify="left" if isinstance(row[index], str) else "right")
                table.add_row(*(_cell(row[index]) for index in shown))
            tables.append(table)
    conn.close()
    return tables
