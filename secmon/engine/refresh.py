"""The local streaming engine's refresh: keeps every view table equal to its query over all events.

After each ingest batch, a windowed view recomputes only the windows that contain a pending minute
(delete those windows, insert their new rows, in one transaction); views without windows are
recomputed in full. The view SQL is the project's own, compiled by dbt with `secmon_incremental`
set, so an analyst's new windowed model is maintained with no engine code.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from queue import Queue

from psycopg2 import sql

from secmon import settings
from secmon.core.endpoints import Endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import LANDING_TABLE, PENDING_TABLE
from secmon.errors import SecmonError
from secmon.manifest import TUMBLE_COLUMNS, is_stale, window_columns


@dataclass(frozen=True)
class View:
    name: str
    schema: str
    select_sql: str  # the model's query; for a windowed view, only its pending windows
    window: tuple[str, str] | None  # the columns bounding its windows (manifest.window_columns)
    parents: tuple[str, ...] = ()  # the views (of the same list) it reads
    sinks_into: str | None = None  # the table its rows are copied to (a detection's: security_alerts)

    @property
    def windowed(self) -> bool:
        return self.window is not None

    @property
    def table(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))


def compile_views(endpoints: Endpoints, target_dir: Path, select: str | None = None) -> list[View]:
    """Compiles the project for the local target with `secmon_incremental` and returns the table
    models in dependency order (dbt's manifest), the stream source and seeds left out; `select`
    (dbt selection syntax) keeps only some of them.

    The compiled project is reused while no file of the project changed and the database and
    selection are the same, so a restarted stream (after a crash, say) starts in a second."""
    selection = ["--select", select] if select else []
    key = json.dumps({"pg_url": endpoints.pg_url, "schema": settings.pg_schema(), "select": select})
    key_path, manifest_path = target_dir / "secmon-compile-key.json", target_dir / "manifest.json"
    if is_stale(manifest_path) or not key_path.exists() or key_path.read_text() != key:
        key_path.unlink(missing_ok=True)  # a failed compile must not be reused
        code = run_dbt(
            [
                "compile",
                "-t",
                "local",
                "--quiet",
                "--target-path",
                str(target_dir),
                *selection,
                "--exclude",
                "resource_type:test",
                "--vars",
                json.dumps({"secmon_incremental": True}),
            ],
            endpoints,
        )
        if code != 0:
            raise SecmonError(f"`dbt compile` for the stream engine failed with exit code {code}")
        key_path.write_text(key)
    manifest = json.loads(manifest_path.read_text())
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "table" and node.get("compiled_code")
    }
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
    return [
        View(
            nodes[uid]["alias"],
            nodes[uid]["schema"],
            nodes[uid]["compiled_code"],
            window=window_columns(nodes[uid]["depends_on"]["macros"]),
            parents=tuple(nodes[parent]["alias"] for parent in nodes[uid]["depends_on"]["nodes"] if parent in nodes),
            sinks_into=settings.ALERTS_TABLE if settings.DETECTION_TAG in nodes[uid]["tags"] else None,
        )
        for uid in ordered
    ]


class Refresher:
    """Refreshes the views on several connections at once: a view starts as soon as the views it
    reads are done, so independent views (most of them) run in parallel, one transaction each."""

    def __init__(self, connections: list, views: list[View], schema: str) -> None:
        self.conn, self.connections, self.views = connections[0], connections, views
        self.pending = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(PENDING_TABLE))
        self.time_index = f"{schema}.{LANDING_TABLE}__time"
        self.pool = ThreadPoolExecutor(max_workers=len(connections), thread_name_prefix="refresh")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def table_exists(self, name: str) -> bool:
        with self.conn.cursor() as cur:
            cur.execute("select to_regclass(%s) is not null", (f"{self.views[0].schema if self.views else ''}.{name}",))
            exists = cur.fetchone()[0]
        self.conn.rollback()
        return exists

    def missing_views(self) -> list[str]:
        with self.conn.cursor() as cur:
            cur.execute(
                "select name from unnest(%s::text[]) as name where to_regclass(%s || '.' || name) is null",
                ([view.name for view in self.views], self.views[0].schema if self.views else ""),
            )
            missing = [row[0] for row in cur.fetchall()]
        self.conn.rollback()
        return missing

    def ensure_indexes(self) -> None:
        """The refresh deletes windows by their start: index it on every windowed view, and by
        detection and window_start on the tables they sink into."""
        with self.conn.cursor() as cur:
            for view in self.views:
                if view.windowed:
                    start = view.window[0]
                    cur.execute(
                        sql.SQL("create index if not exists {} on {} ({})").format(
                            sql.Identifier(f"{view.name}__{start}"), view.table, sql.Identifier(start)
                        )
                    )
            for sink in sorted({view.sinks_into for view in self.views if view.sinks_into}):
                cur.execute(
                    sql.SQL("create index if not exists {} on {}.{} (detection, window_start)").format(
                        sql.Identifier(f"{sink}__detection_window"),
                        sql.Identifier(self.views[0].schema),
                        sql.Identifier(sink),
                    )
                )
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
        due = [view for view in self.views if minutes or not view.windowed]
        timings = self._refresh_in_parallel(due)
        if minutes:
            with self.conn.cursor() as cur:
                cur.execute(sql.SQL("delete from {} where minute = any(%s)").format(self.pending), (minutes,))
            self.conn.commit()
        return timings

    def _refresh_in_parallel(self, views: list[View]) -> dict[str, float]:
        idle = Queue()
        for conn in self.connections:
            idle.put(conn)
        names = {view.name for view in views}
        waiting = {view.name: {parent for parent in view.parents if parent in names} for view in views}
        by_name = {view.name: view for view in views}
        running: dict = {}
        timings: dict[str, float] = {}

        def run(view: View) -> tuple[str, float]:
            conn = idle.get()
            try:
                return view.name, self._refresh_view(conn, view)
            finally:
                idle.put(conn)

        failure: BaseException | None = None
        while (waiting and failure is None) or running:
            if failure is None:
                for name in [name for name, parents in waiting.items() if not parents]:
                    del waiting[name]
                    running[self.pool.submit(run, by_name[name])] = name
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                del running[future]
                if future.exception() is not None:
                    failure = failure or future.exception()  # let the running views finish first
                    continue
                name, seconds = future.result()
                timings[name] = seconds
                for parents in waiting.values():
                    parents.discard(name)
        if failure is not None:
            raise failure
        return {view.name: timings[view.name] for view in views}

    def _refresh_view(self, conn, view: View) -> float:
        started = time.perf_counter()
        try:
            with conn.cursor() as cur:
                if view.windowed:
                    # A refresh reads a few windows: always by index. Right after a bulk load the
                    # planner's statistics are stale and it would scan the whole history.
                    cur.execute("set local enable_seqscan = off")
                    pending = self._pending_windows(view.table, view.window)
                    cur.execute(sql.SQL("delete from {} where ").format(view.table) + pending)
                else:
                    cur.execute(sql.SQL("delete from {}").format(view.table))
                cur.execute(sql.SQL("insert into {} ").format(view.table).as_string(cur) + view.select_sql)
                if view.sinks_into is not None:
                    self._sink(cur, view)
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        return time.perf_counter() - started

    def _pending_windows(self, table: sql.Composable, window: tuple[str, str] = TUMBLE_COLUMNS) -> sql.Composed:
        """The rows of `table` whose window (bounded by the columns `window`) overlaps a pending minute:
        one that holds it, or, for a hop() window shorter than a minute, one that shares seconds with it."""
        start, end = (sql.Identifier(column) for column in window)
        return sql.SQL(
            "{start} < (select max(minute) from {pending}) + interval '1 minute' "
            "and {start} > (select min(minute) from {pending}) - interval '1 day' "
            "and exists (select from {pending} as pending "
            "where pending.minute > {table}.{start} - interval '1 minute' and pending.minute < {table}.{end})"
        ).format(table=table, pending=self.pending, start=start, end=end)

    def prune(self, before: datetime) -> None:
        """Retention: the events, the windows and the alerts that ended before `before` are deleted (the
        views' open windows are recomputed from events much newer than that)."""
        schema = sql.Identifier(self.views[0].schema if self.views else settings.pg_schema())
        tables = [(sql.SQL("{}.{}").format(schema, sql.Identifier(LANDING_TABLE)), "request_timestamp")]
        tables += [(view.table, view.window[1]) for view in self.views if view.windowed]
        sinks = sorted({view.sinks_into for view in self.views if view.sinks_into})
        tables += [(sql.SQL("{}.{}").format(schema, sql.Identifier(sink)), "window_end") for sink in sinks]
        with self.conn.cursor() as cur:
            for table, end in tables:
                cur.execute(sql.SQL("delete from {} where {} < %s").format(table, sql.Identifier(end)), (before,))
        self.conn.commit()

    def _sink(self, cur, view: View) -> None:
        """The view's new rows into its sink table, as RisingWave's CREATE SINK … INTO does: the
        refreshed windows are replaced (the columns are the same, in the same order)."""
        sink = sql.SQL("{}.{}").format(sql.Identifier(view.schema), sql.Identifier(view.sinks_into))
        mine = sql.SQL("detection = {}").format(sql.Literal(view.name))
        if view.windowed:
            cur.execute(sql.SQL("delete from {} where {} and ").format(sink, mine) + self._pending_windows(sink))
            cur.execute(
                sql.SQL("insert into {} select * from {} where ").format(sink, view.table)
                + self._pending_windows(view.table)
            )
        else:
            cur.execute(sql.SQL("delete from {} where {}").format(sink, mine))
            cur.execute(sql.SQL("insert into {} select * from {}").format(sink, view.table))
