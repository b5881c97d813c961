"""The local streaming engine's refresh: keeps every view table equal to its query over all events.

After each ingest batch, a windowed view recomputes only the windows that contain a pending minute
(delete those windows, insert their new rows, in one transaction); views without windows are
recomputed in full. The view SQL is the project's own, compiled by dbt with `secmon_incremental`
set, so an analyst's new windowed model is maintained with no engine code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from .dbt import run_dbt
from .errors import SecmonError
from .ingest import LANDING_TABLE, PENDING_TABLE
from .stack import Endpoints


@dataclass(frozen=True)
class View:
    name: str
    schema: str
    select_sql: str  # the model's query; for a windowed view, only its pending windows
    windowed: bool

    @property
    def table(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))


def compile_views(endpoints: Endpoints, target_dir: Path, select: str | None = None) -> list[View]:
    """Compiles the project for the local target with `secmon_incremental` and returns the table
    models in dependency order (dbt's manifest), the stream source and seeds left out; `select`
    (dbt selection syntax) keeps only some of them."""
    selection = ["--select", select] if select else []
    code = run_dbt(["compile", "-t", "local", "--quiet", "--target-path", str(target_dir), *selection,
                    "--vars", json.dumps({"secmon_incremental": True})], endpoints)
    if code != 0:
        raise SecmonError(f"`dbt compile` for the stream engine failed with exit code {code}")
    manifest = json.loads((target_dir / "manifest.json").read_text())
    nodes = {uid: node for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and node["config"]["materialized"] == "table"
             and node.get("compiled_code")}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(uid: str) -> None:
        if uid in ordered or uid not in nodes:
            return
        if uid in visiting:
            raise SecmonError(f"dependency cycle at {uid}")
        visiting.add(uid)
        for parent in nodes[uid]["depends_on"]["nodes"]:
            visit(parent)
        visiting.discard(uid)
        ordered.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    return [View(nodes[uid]["alias"], nodes[uid]["schema"], nodes[uid]["compiled_code"],
                 PENDING_TABLE in nodes[uid]["compiled_code"]) for uid in ordered]


class Refresher:
    def __init__(self, conn, views: list[View], schema: str) -> None:
        self.conn, self.views = conn, views
        self.pending = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(PENDING_TABLE))
        self.time_index = f"{schema}.{LANDING_TABLE}__time"

    def missing_views(self) -> list[str]:
        with self.conn.cursor() as cur:
            cur.execute("select name from unnest(%s::text[]) as name where to_regclass(%s || '.' || name) is null",
                        ([view.name for view in self.views], self.views[0].schema if self.views else ""))
            missing = [row[0] for row in cur.fetchall()]
        self.conn.rollback()
        return missing

    def ensure_indexes(self) -> None:
        """The refresh deletes windows by window_start: index it on every windowed view."""
        with self.conn.cursor() as cur:
            for view in self.views:
                if view.windowed:
                    cur.execute(sql.SQL("create index if not exists {} on {} (window_start)").format(
                        sql.Identifier(f"{view.name}__window_start"), view.table))
        self.conn.commit()

    def summarize_time_index(self) -> None:
        """Adds the landing table's new page ranges to its BRIN index: unsummarized ranges match
        every time range, so a refresh would read them all."""
        with self.conn.cursor() as cur:
            cur.execute("select brin_summarize_new_values(%s::regclass)", (self.time_index,))
        self.conn.commit()

    def refresh(self) -> dict[str, float]:
        """Brings every view up to date with the pending minutes; returns seconds per view.

        Pending minutes are removed only after every view is refreshed, so a crash in between
        just refreshes those windows again."""
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("select minute from {}").format(self.pending))
            minutes = [row[0] for row in cur.fetchall()]
        self.conn.rollback()
        if minutes:
            self.summarize_time_index()
        timings = {}
        for view in self.views:
            if view.windowed and not minutes:
                continue
            started = time.perf_counter()
            with self.conn.cursor() as cur:
                if view.windowed:
                    # A refresh reads a few windows: always by index. Right after a bulk load the
                    # planner's statistics are stale and it would scan the whole history.
                    cur.execute("set local enable_seqscan = off")
                    cur.execute(sql.SQL(
                        "delete from {view} where window_start <= (select max(minute) from {pending}) "
                        "and window_start > (select min(minute) from {pending}) - interval '1 day' "
                        "and exists (select from {pending} as pending "
                        "where pending.minute >= {view}.window_start and pending.minute < {view}.window_end)"
                    ).format(view=view.table, pending=self.pending))
                else:
                    cur.execute(sql.SQL("delete from {}").format(view.table))
                cur.execute(sql.SQL("insert into {} ").format(view.table).as_string(cur) + view.select_sql)
            self.conn.commit()
            timings[view.name] = time.perf_counter() - started
        if minutes:
            with self.conn.cursor() as cur:
                cur.execute(sql.SQL("delete from {} where minute = any(%s)").format(self.pending), (minutes,))
            self.conn.commit()
        return timings
