"""`secmon demo`: the whole system on the embedded defaults, from nothing to live views."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live

from secmon import settings, stack
from secmon.core.children import die_with_parent
from secmon.core.endpoints import Endpoints, recorded_endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import Ingester, ensure_landing_table
from secmon.engine.stream import Stream
from secmon.errors import SecmonError
from secmon.report import alerts_table, latest_window_tables


def run_demo(
    console: Console,
    state_dir: Path,
    backfill_minutes: float,
    rate: float,
    duration: float | None,
    seed: int,
    options: stack.StackOptions = stack.StackOptions(),
) -> None:
    started = time.monotonic()
    console.rule("1. the embedded stack")
    for row in stack.up(state_dir, options):
        console.print(f"{row.component}: {row.address} ({row.action})")
    endpoints = recorded_endpoints(state_dir)
    console.rule(f"2. {backfill_minutes:g} minutes of traffic with attacks")
    _backfill(console, state_dir, endpoints, backfill_minutes, rate, seed)
    console.rule("3. ingest, then dbt build (seeds, views, tests)")
    _ingest_and_build(console, endpoints)
    console.rule(f"4. the views (first summary {time.monotonic() - started:.0f} s after start)")
    dashboards = _show_views(console, endpoints)
    console.rule(f"5. live traffic at {rate:g} events/s" + (f" for {duration:g} s" if duration else ", Ctrl-C stops"))
    _live(console, state_dir, endpoints, dashboards, rate, duration, seed)
    console.rule("done")
    console.print(f"psql / Grafana (PostgreSQL datasource): {endpoints.pg_url} (schema {settings.pg_schema()})")
    console.print("stop everything: .venv/bin/secmon down   (add --purge to delete the data)")


def _backfill(
    console: Console, state_dir: Path, endpoints: Endpoints, backfill_minutes: float, rate: float, seed: int
) -> None:
    """`backfill_minutes` of generated traffic, ending now, to the events topic; its labels beside it."""
    from secmon.core import kafka_clients
    from secmon.producer.generate import Mix, plan
    from secmon.producer.publish import KafkaSink, publish

    kafka_clients.ensure_topic(endpoints.bootstrap_servers, settings.LABELS_TOPIC, settings.DEFAULT_PARTITIONS)
    duration_ms = int(backfill_minutes * 60_000)
    backfill = plan(Mix(rate=rate, seed=seed), int(time.time() * 1000) - duration_ms, duration_ms)
    summary = publish(
        backfill,
        KafkaSink(
            endpoints.bootstrap_servers, settings.EVENTS_TOPIC, settings.LABELS_TOPIC, state_dir / "labels.jsonl"
        ),
    )
    console.print(f"published {summary.events:,} events ({summary.rate:,.0f}/s) and {summary.labels} attack labels")


def _ingest_and_build(console: Console, endpoints: Endpoints) -> None:
    """Everything on the topic into the landing table, then `dbt build`: every view built and tested."""
    ensure_landing_table(endpoints)
    ingester = Ingester(endpoints)
    if notice := ingester.restart_notice():
        console.print(notice)
    totals = ingester.drain()
    ingester.close()
    console.print(f"ingested {totals.ingested:,} events ({totals.rejected} rejected) in {totals.seconds:.1f} s")
    if run_dbt(["build", "-t", "local", "--quiet"], endpoints) != 0:
        raise SecmonError("`dbt build` failed: run `secmon dbt build` to see why")
    console.print("dbt build: every model built and every test passed")


def _show_views(console: Console, endpoints: Endpoints) -> dict[str, dict]:
    """The views' latest windows and the newest alerts, then the dashboards rendered; the dashboards."""
    from secmon.grafana.dashboards import load_all

    for table in latest_window_tables(endpoints.pg_url, settings.pg_schema()):
        console.print(table)
    console.print(alerts_table(endpoints.pg_url, settings.pg_schema()))
    console.print("score the detections against the attacks' labels: .venv/bin/secmon eval")
    dashboards = load_all()
    preview = _render_preview(dashboards, endpoints)
    console.print(
        f"the Grafana dashboards, rendered from these views: {preview} (reloads every "
        f"{PREVIEW_REFRESH_SECONDS} s while the demo runs)"
    )
    return dashboards


PREVIEW_REFRESH_SECONDS = 10


def _render_preview(dashboards: dict[str, dict], endpoints: Endpoints) -> Path:
    """The dashboards as HTML pages over their own time range (`secmon dashboards preview`); the index page."""
    from secmon.grafana.preview import time_range, write_pages

    write_pages(
        dashboards,
        endpoints.pg_url,
        settings.pg_schema(),
        settings.PREVIEW_DIR,
        *time_range(dashboards),
        PREVIEW_REFRESH_SECONDS,
    )
    return settings.PREVIEW_DIR / "index.html"


def _live(
    console: Console,
    state_dir: Path,
    endpoints: Endpoints,
    dashboards: dict[str, dict],
    rate: float,
    duration: float | None,
    seed: int,
) -> None:
    """Live traffic into the stream engine, with a summary every 2 s: redrawn in place on a terminal,
    one line per update otherwise (a log, a CI run)."""
    started = time.monotonic()
    producer = _start_producer(state_dir, rate, duration, seed)
    runner = Stream(endpoints, state_dir)
    deadline = started + duration if duration else None
    last_draw = last_preview = 0.0
    with Live(console=console, refresh_per_second=2, transient=False, auto_refresh=console.is_terminal) as live:

        def on_batch(batch) -> None:
            nonlocal last_draw, last_preview
            now = time.monotonic()
            if deadline and now > deadline:
                runner.request_stop()
            if now - last_draw > 2:
                last_draw = now
                _draw(console, live, endpoints, f"live +{now - started:.0f} s | {_batch_summary(runner, batch)}")
            if now - last_preview > PREVIEW_REFRESH_SECONDS:
                last_preview = now
                _render_preview(dashboards, endpoints)

        try:
            runner.run(on_batch, idle_exit_after=duration)
        finally:
            producer.terminate()
            producer.wait(10)


def _start_producer(state_dir: Path, rate: float, duration: float | None, seed: int) -> subprocess.Popen:
    """`secmon produce` in realtime, in a session of its own, killed if the demo dies."""
    secmon = str(Path(sys.executable).with_name("secmon"))
    arguments = ["--rate", str(rate), "--duration", str(duration or 0), "--seed", str(seed + 1)]
    return subprocess.Popen(
        [secmon, "produce", *arguments, "--state-dir", str(state_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=functools.partial(die_with_parent, os.getpid()),
    )


def _batch_summary(runner: Stream, batch) -> str:
    return (
        f"{runner.status.ingested:,} live events, last batch "
        f"{batch.ingested:,} | refresh {batch.refresh_seconds * 1000:.0f} ms | freshness p50 "
        f"{batch.freshness_p50:.2f} s | lag {batch.lag_events:,} events, {batch.lag_seconds:.1f} s"
    )


def _draw(console: Console, live: Live, endpoints: Endpoints, header: str) -> None:
    """The header and the first views' latest windows, in place on a terminal; the header alone as a line otherwise."""
    if console.is_terminal:
        tables = latest_window_tables(endpoints.pg_url, settings.pg_schema(), rows_per_view=5)[:3]
        live.update(Group(header, *tables))
    else:
        console.print(header, highlight=False, soft_wrap=True)
