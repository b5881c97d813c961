"""Rich tables of the views' latest complete windows, for the demo."""

from __future__ import annotations

from decimal import Decimal

import psycopg2
from psycopg2 import sql
from rich.table import Table

# view → (columns shown, order within the window)
VIEWS = {
    "website_user_metrics": ("username, total_requests, avg_response_time, median_response_time, total_errors, "
                             "login_count, unique_ips", "total_requests desc, username"),
    "top_user_actions": ("action_rank, user_action, count_user_activity", "action_rank"),
    "referrer_activity_summary": ("referrer, referrer_visit_count, page_visits, interactions, content_interactions, "
                                  "window_interactions", "referrer_visit_count desc"),
    "status_code_analysis_summary": ("status_code, status_class, count_status_code, avg_response_time, "
                                     "cumulative_percentage", "status_code"),
    "security_level_analysis_summary": ("security_level, count_security_level, avg_response_time, "
                                        "median_response_time", "security_level"),
}


def _cell(value) -> str:
    if isinstance(value, (float, Decimal)):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def alerts_table(pg_url: str, schema: str, rows: int = 12) -> Table:
    """The newest alerts of security_alerts."""
    columns = ("window_start", "severity", "detection", "entity", "target_username", "event_count")
    table = Table(title="security_alerts — newest", title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=True)
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("select {} from {}.security_alerts order by window_start desc, detection limit %s").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(schema)), (rows,))
        for row in cur.fetchall():
            table.add_row(row[0].strftime("%H:%M"), *map(_cell, row[1:]))
    conn.close()
    return table


def latest_window_tables(pg_url: str, schema: str, rows_per_view: int = 8) -> list[Table]:
    """One table per view: its rows in the newest window that has ended (or the newest at all)."""
    tables = []
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        for view, (columns, order) in VIEWS.items():
            relation = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(view))
            cur.execute(sql.SQL("select max(window_start) filter (where window_end <= now()), max(window_start) from {}")
                        .format(relation))
            closed, newest = cur.fetchone()
            window = closed or newest
            if window is None:
                continue
            cur.execute(sql.SQL("select {} from {} where window_start = %s order by {} limit %s").format(
                sql.SQL(columns), relation, sql.SQL(order)), (window, rows_per_view))
            table = Table(title=f"{view} — window {window:%Y-%m-%d %H:%M} UTC", title_justify="left")
            for column in columns.split(", "):
                table.add_column(column, justify="left" if column in ("username", "user_action", "referrer",
                                                                      "status_class", "security_level") else "right")
            for row in cur.fetchall():
                table.add_row(*map(_cell, row))
            tables.append(table)
    conn.close()
    return tables
