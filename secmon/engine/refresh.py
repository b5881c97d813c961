"""The local streaming engine's refresh: keeps every view table equal to its query over all events.

After each ingest batch, a request-grain view (request_rows()) classifies only the rows landed since
the last refresh; another windowed view recomputes only the windows that contain a pending minute
(delete those windows or rows, insert their new rows, in one transaction); other views are
recomputed in full. A window-close view (emit_on_window_close(): the detections) computes each
window once, when the watermark passes its end, as RisingWave does, on a connection of its own in
the background, so that a closing window does not hold up the next batch's views. The view SQL is
the project's own, compiled by dbt with `secmon_incremental` set, so an analyst's new windowed model
is maintained with no engine code.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from queue import Queue

from psycopg2 import sql

from secmon import settings
from secmon.core.endpoints import Endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.state import LANDED_INDEX, TIME_INDEX
from secmon.errors import SecmonError
from secmon.manifest import (
    EVENT_TIME_COLUMN,
    REQUEST_ROWS_MACRO,
    TUMBLE_COLUMNS,
    called_macros,
    is_stale,
    is_windowed,
)
from secmon.manifest import models as project_models
from secmon.settings import LANDING_TABLE, PENDING_ROWS_TABLE, PENDING_TABLE, WINDOW_CLOSE_TABLE

WINDOW_SETTINGS = settings.dbt_vars()["local_window_settings"]  # read by windows_after() and windows_until()


@dataclass(frozen=True)
class Windows:
    """The windows a window-close view's refresh computes: those ending after `after` and at or
    before `until`, or every open window too when `until` is None."""

    after: datetime
    until: datetime | None


@dataclass(frozen=True)
class WindowJob:
    """One background refresh of the window-close views: the windows each computes, and the
    watermark up to which the windows are closed (emitted) once it is done."""

    windows: dict[str, Windows]
    closes_until: datetime


@dataclass(frozen=True)
class View:
    name: str
    schema: str
    select_sql: str  # the model's query; for a windowed view only its pending windows, for a
    # request-grain view only the pending rows
    windowed: bool  # TUMBLE_COLUMNS bound its windows
    closes_windows: bool = False  # a window is computed once, when the watermark passes its end
    request_grain: bool = False  # one row per request at most, with the request's landed_id
    parents: tuple[str, ...] = ()  # the views (of the same list) it reads
    sinks_into: str | None = None  # the table its rows are copied to (a detection's: security_alerts)

    def is_due(self, minutes: list, batches: list) -> bool:
        """Whether a refresh with these pending minutes and row batches changes the view (not for a
        window-close view: its windows change when they close, Refresher.refresh)."""
        if self.windowed:
            return bool(minutes)
        if self.request_grain:
            return bool(batches)
        return bool(minutes or batches)

    @property
    def table(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))


def compile_views(endpoints: Endpoints, target_dir: Path, select: str | None = None) -> list[View]:
    """Compiles the project for the local target with `secmon_incremental` and returns the table
    models in dependency order (dbt's manifest), the stream source and seeds left out; `select`
    (dbt selection syntax) keeps only some of them.

    The window-close views are named to the compile (var secmon_window_close_models): their windows
    are computed once each, when closed."""
    closing = sorted(name for name, model in project_models(settings.PROJECT_DIR).items() if model.closes_windows)
    dbt_vars = {"secmon_incremental": True, "secmon_window_close_models": closing}
    manifest = _compiled_manifest(endpoints, target_dir, select, dbt_vars)
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "table" and node.get("compiled_code")
    }
    ordered = _in_dependency_order(nodes)
    macros = {uid: called_macros(manifest, nodes[uid]) for uid in ordered}
    return [
        View(
            nodes[uid]["alias"],
            nodes[uid]["schema"],
            nodes[uid]["compiled_code"],
            windowed=is_windowed(macros[uid]),
            closes_windows=nodes[uid]["alias"] in closing,
            request_grain=REQUEST_ROWS_MACRO in macros[uid],
            parents=tuple(nodes[parent]["alias"] for parent in nodes[uid]["depends_on"]["nodes"] if parent in nodes),
            sinks_into=settings.ALERTS_TABLE if settings.DETECTION_TAG in nodes[uid]["tags"] else None,
        )
        for uid in ordered
    ]


def _compiled_manifest(endpoints: Endpoints, target_dir: Path, select: str | None, dbt_vars: dict) -> dict:
    """dbt's manifest of the project compiled for the local target. The compiled project is reused while
    no file of the project changed and the database, selection and vars are the same, so a restarted
    stream (after a crash, say) starts in a second."""
    selection = ["--select", select] if select else []
    key = json.dumps({"pg_url": endpoints.pg_url, "schema": settings.pg_schema(), "select": select, "vars": dbt_vars})
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
                json.dumps(dbt_vars),
            ],
            endpoints,
        )
        if code != 0:
            raise SecmonError(f"`dbt compile` for the stream engine failed with exit code {code}")
        key_path.write_text(key)
    return json.loads(manifest_path.read_text())


def _in_dependency_order(nodes: dict[str, dict]) -> list[str]:
    """The ids of `nodes`, each after the nodes it depends on (dependencies outside `nodes` left out)."""
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
    return ordered


class Refresher:
    """Refreshes the views on several connections at once: a view starts as soon as the views it
    reads are done, so independent views (most of them) run in parallel, one transaction each.

    The last connection is the window-close views' own: their refresh (WindowJob) starts after a
    cycle's other views, which they read, are committed, and runs while the next cycles go on; a
    cycle starts the next job only once the one before is done. `emitted_until` says how far the
    windows are closed, for the alerts to be published."""

    def __init__(self, connections: list, views: list[View], schema: str) -> None:
        if len(connections) < 2:
            raise ValueError("the refresh needs two connections or more: the last is the window-close views'")
        self.conn, self.connections, self.views = connections[0], connections[:-1], views
        self.window_conn = connections[-1]
        self.window_lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="windows")
        self.window_job: Future | None = None  # returns the timings of its views
        self.emitted_until: datetime | None = None  # windows ending at or before it are computed
        self.pending = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(PENDING_TABLE))
        self.pending_rows = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(PENDING_ROWS_TABLE))
        self.window_close = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(WINDOW_CLOSE_TABLE))
        self.brin_indexes = [f"{schema}.{TIME_INDEX}", f"{schema}.{LANDED_INDEX}"]
        self.pool = ThreadPoolExecutor(max_workers=len(self.connections), thread_name_prefix="refresh")
        self.prepared: dict[int, set[str]] = {}  # id of a connection → the views whose insert it has prepared
        # When each window-close view next shows its open windows too: staggered, so that each cycle
        # recomputes a few views' open windows rather than all of them every OPEN_WINDOWS_SECONDS.
        closing = [view.name for view in views if view.closes_windows]
        started = time.monotonic()
        self.next_open_refresh = {
            name: started + settings.OPEN_WINDOWS_SECONDS * number / len(closing) for number, name in enumerate(closing)
        }
        self.unshown: set[str] = set()  # the window-close views whose open windows miss events landed since

    @property
    def closes_windows(self) -> bool:
        """Whether a window-close view is selected (and so a window-close watermark kept)."""
        return bool(self.next_open_refresh)

    def close(self) -> None:
        """Waits for the running views; a window job's failure is left to the next start, which
        computes its windows again (emitted_until did not move)."""
        self.window_lane.shutdown(wait=True)
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
        """The refresh deletes windows by their start and request-grain rows by their landed_id: index
        them, and the request time that windows over a request-grain view read it by; and by
        detection and window_start the tables they sink into."""
        indexed = {view.name: [TUMBLE_COLUMNS[0]] for view in self.views if view.windowed}
        indexed |= {view.name: ["landed_id", EVENT_TIME_COLUMN] for view in self.views if view.request_grain}
        with self.conn.cursor() as cur:
            for view in self.views:
                for column in indexed.get(view.name, []):
                    cur.execute(
                        sql.SQL("create index if not exists {} on {} ({})").format(
                            sql.Identifier(f"{view.name}__{column}"), view.table, sql.Identifier(column)
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

    def summarize_brin_indexes(self) -> None:
        """Adds the landing table's new page ranges to its BRIN indexes: unsummarized ranges match
        every time range and landed_id, so a refresh would read them all."""
        with self.conn.cursor() as cur:
            for index in self.brin_indexes:
                cur.execute("select brin_summarize_new_values(%s::regclass)", (index,))
        self.conn.commit()

    def load_progress(self) -> datetime | None:
        """Reads how far the window-close views were refreshed: sets emitted_until and returns the
        watermark they were last refreshed to (None before the first)."""
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("select emitted_until, watermark from {}").format(self.window_close))
            row = cur.fetchone()
        self.conn.rollback()
        self.emitted_until, watermark = row or (None, None)
        return watermark

    def refresh(self, watermark: datetime | None = None) -> dict[str, float]:
        """Brings every view but the window-close ones up to date with the pending minutes and rows,
        then starts the window-close views' job for `watermark` (the windows that end at or before
        it are closed) unless one is running; returns seconds per view, the window-close views' of a
        job finished since the last call included (its failure is raised here).

        Pending minutes and rows, and the windows closed, are marked done only after their views are
        refreshed, so a crash in between just refreshes those windows and rows again."""
        timings = self._finished_window_job()
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("select minute from {}").format(self.pending))
            minutes = [row[0] for row in cur.fetchall()]
            cur.execute(sql.SQL("select first_landed_id from {}").format(self.pending_rows))
            batches = [row[0] for row in cur.fetchall()]
        self.conn.rollback()
        if minutes or batches:
            self.summarize_brin_indexes()
        if minutes:
            self.unshown = set(self.next_open_refresh)
        due = [view for view in self.views if not view.closes_windows and view.is_due(minutes, batches)]
        timings |= self._refresh_in_parallel(due)
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("delete from {} where minute = any(%s)").format(self.pending), (minutes,))
            cur.execute(sql.SQL("delete from {} where first_landed_id = any(%s)").format(self.pending_rows), (batches,))
        self.conn.commit()
        if self.window_job is None:
            self._start_window_job(watermark, min(minutes, default=None))
        return timings

    def finish(self, watermark: datetime | None) -> dict[str, float]:
        """Waits for the running window job, then computes every window closed by `watermark` and
        shows every open window (a stream's last act before it exits); returns seconds per view."""
        timings = self.wait_for_windows()
        self.next_open_refresh = dict.fromkeys(self.next_open_refresh, -math.inf)
        self.unshown = set(self.next_open_refresh)
        self._start_window_job(watermark, None)
        return timings | self.wait_for_windows()

    def wait_for_windows(self) -> dict[str, float]:
        """Waits for the running window job, if any; returns its seconds per view."""
        if self.window_job is not None:
            wait([self.window_job])
        return self._finished_window_job()

    def _finished_window_job(self) -> dict[str, float]:
        if self.window_job is None or not self.window_job.done():
            return {}
        job, self.window_job = self.window_job, None
        return job.result()

    def _start_window_job(self, watermark: datetime | None, first_pending_minute: datetime | None) -> None:
        job = self._window_job(watermark, first_pending_minute)
        if job is not None:
            self.window_job = self.window_lane.submit(self._refresh_windows, job)

    def _window_job(self, watermark: datetime | None, first_pending_minute: datetime | None) -> WindowJob | None:
        """The windows each window-close view recomputes: those that close now (ending after
        emitted_until and at or before the watermark), and every few seconds the open ones too, so
        that an attack shows in the alerts table before its window closes (it is published only
        once closed). None before the engine knows a watermark, or with nothing to do."""
        if not self.closes_windows:  # no watermark to keep
            return None
        now = time.monotonic()
        showing = [name for name, due_at in self.next_open_refresh.items() if now >= due_at and name in self.unshown]
        closes_nothing = watermark is None or (self.emitted_until is not None and self.emitted_until >= watermark)
        if not showing and closes_nothing:
            return None  # nothing closed and nothing new to show (and nothing written)
        bounds = self._close_windows_to(watermark, first_pending_minute)
        if bounds is None:
            return None
        after, until = bounds
        windows = {}
        for name in self.next_open_refresh:
            if name in showing:
                windows[name] = Windows(after, None)
                self.next_open_refresh[name] = now + settings.OPEN_WINDOWS_SECONDS
                self.unshown.discard(name)
            elif until > after:
                windows[name] = Windows(after, until)
        return WindowJob(windows, until) if windows else None

    def _close_windows_to(self, watermark: datetime | None, first_pending_minute: datetime | None) -> tuple | None:
        """Moves the window-close views' watermark up to `watermark` (never back); returns
        (emitted_until, watermark), or None before any watermark is known. With no progress
        recorded yet, the views' windows from the earliest pending minute on are taken as not
        emitted (a `dbt build` made the others)."""
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "insert into {table} (emitted_until, watermark) "
                    "select coalesce(%(first_pending_minute)s::timestamptz, %(watermark)s), %(watermark)s "
                    "where %(watermark)s::timestamptz is not null "
                    "on conflict (only_row) do update set watermark = greatest({table}.watermark, excluded.watermark) "
                ).format(table=self.window_close),
                {"watermark": watermark, "first_pending_minute": first_pending_minute},
            )
            cur.execute(sql.SQL("select emitted_until, watermark from {}").format(self.window_close))
            row = cur.fetchone()
        self.conn.commit()
        if row is not None:
            self.emitted_until = row[0]
        return row

    def _refresh_windows(self, job: WindowJob) -> dict[str, float]:
        """The window job, on the window-close views' connection: each view in dependency order, then
        emitted_until moves to the job's watermark."""
        timings = {
            view.name: self._refresh_view(self.window_conn, view, job.windows[view.name])
            for view in self.views
            if view.name in job.windows
        }
        with self.window_conn.cursor() as cur:
            cur.execute(sql.SQL("update {} set emitted_until = %s").format(self.window_close), (job.closes_until,))
        self.window_conn.commit()
        self.emitted_until = job.closes_until
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

    def _refresh_view(self, conn, view: View, windows: Windows | None = None) -> float:
        started = time.perf_counter()
        try:
            with conn.cursor() as cur:
                if windows is not None:
                    cur.execute(
                        "select set_config(%s, %s, true), set_config(%s, %s, true)",
                        (
                            WINDOW_SETTINGS["after"],
                            windows.after.isoformat(),
                            WINDOW_SETTINGS["until"],
                            "" if windows.until is None else windows.until.isoformat(),
                        ),
                    )
                if view.windowed or view.request_grain:
                    # A refresh reads a few windows or rows: always by index. Right after a bulk load
                    # the planner's statistics are stale and it would scan the whole history.
                    cur.execute("set local enable_seqscan = off")
                if view.windowed:
                    cur.execute(
                        sql.SQL("delete from {} where ").format(view.table) + self._windows_of(view, view.table)
                    )
                elif view.request_grain:
                    cur.execute(
                        sql.SQL("delete from {} where landed_id >= (select min(first_landed_id) from {})").format(
                            view.table, self.pending_rows
                        )
                    )
                else:
                    cur.execute(sql.SQL("delete from {}").format(view.table))
                self._insert(cur, conn, view)
                if view.sinks_into is not None:
                    self._sink(cur, view)
            conn.commit()
        except BaseException:
            self.prepared.pop(id(conn), None)
            if not conn.closed:
                conn.rollback()
                with conn.cursor() as cur:
                    cur.execute("deallocate all")  # the statements prepared so far are prepared again
                conn.commit()
            raise
        return time.perf_counter() - started

    def _insert(self, cur, conn, view: View) -> None:
        """Inserts the view's rows through a statement prepared once per connection: planning the
        classification models' hundreds of conditions took 150 ms each time (hub_requests)."""
        prepared = self.prepared.setdefault(id(conn), set())
        if view.name not in prepared:
            cur.execute(
                sql.SQL("prepare {} as insert into {} ").format(sql.Identifier(view.name), view.table).as_string(cur)
                + view.select_sql
            )
            prepared.add(view.name)
        cur.execute(sql.SQL("execute {}").format(sql.Identifier(view.name)))

    def _windows_of(self, view: View, table: sql.Composable) -> sql.Composed:
        """The rows of `table` in the windows that `view` refreshes: for a window-close view, those
        ending after emitted_until and at or before the watermark; for another, those that overlap
        a pending minute (that hold it, or, for a hop() window shorter than a minute, that share
        seconds with it)."""
        start, end = (sql.Identifier(column) for column in TUMBLE_COLUMNS)
        if view.closes_windows:
            after = sql.SQL("current_setting({})::timestamptz").format(sql.Literal(WINDOW_SETTINGS["after"]))
            until = sql.SQL("coalesce(nullif(current_setting({}), '')::timestamptz, 'infinity')").format(
                sql.Literal(WINDOW_SETTINGS["until"])
            )
            return sql.SQL("{start} > {after} - interval '1 day' and {end} > {after} and {end} <= {until}").format(
                start=start, end=end, after=after, until=until
            )
        return sql.SQL(
            "{start} < (select max(minute) from {pending}) + interval '1 minute' "
            "and {start} > (select min(minute) from {pending}) - interval '1 day' "
            "and exists (select from {pending} as pending "
            "where pending.minute > {table}.{start} - interval '1 minute' and pending.minute < {table}.{end})"
        ).format(table=table, pending=self.pending, start=start, end=end)

    def prune(self, before: datetime) -> None:
        """Retention: the events, the windows and the alerts that ended before `before` are deleted.
        The caller keeps `before` a retention behind every window still to compute (Stream._prune),
        so a running window job reads none of it and is not waited for."""
        schema = sql.Identifier(self.views[0].schema if self.views else settings.pg_schema())
        tables = [(sql.SQL("{}.{}").format(schema, sql.Identifier(LANDING_TABLE)), EVENT_TIME_COLUMN)]
        tables += [(view.table, TUMBLE_COLUMNS[1]) for view in self.views if view.windowed]
        tables += [(view.table, EVENT_TIME_COLUMN) for view in self.views if view.request_grain]
        sinks = sorted({view.sinks_into for view in self.views if view.sinks_into})
        tables += [(sql.SQL("{}.{}").format(schema, sql.Identifier(sink)), "window_end") for sink in sinks]
        with self.conn.cursor() as cur:
            for table, end in tables:
                cur.execute(sql.SQL("delete from {} where {} < %s").format(table, sql.Identifier(end)), (before,))
        self.conn.commit()

    def _sink(self, cur, view: View) -> None:
        """The view's new rows into its sink table, as RisingWave's CREATE SINK … INTO does: the
        refreshed windows are replaced (the columns are the same, in the same order), and a row whose
        alert_id the table holds (a later window of the same quiet period) is left out, as RisingWave's
        ON CONFLICT DO NOTHING does."""
        sink = sql.SQL("{}.{}").format(sql.Identifier(view.schema), sql.Identifier(view.sinks_into))
        mine = sql.SQL("detection = {}").format(sql.Literal(view.name))
        if view.windowed:
            cur.execute(sql.SQL("delete from {} where {} and ").format(sink, mine) + self._windows_of(view, sink))
            cur.execute(
                sql.SQL("insert into {} select * from {} where ").format(sink, view.table)
                + self._windows_of(view, view.table)
                + sql.SQL(" order by window_start on conflict do nothing")
            )
        else:
            cur.execute(sql.SQL("delete from {} where {}").format(sink, mine))
            cur.execute(sql.SQL("insert into {} select * from {} on conflict do nothing").format(sink, view.table))
