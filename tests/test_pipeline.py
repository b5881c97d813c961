"""Topic → landing table → dbt views on the local target, checked against a Python oracle."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import oracle
import psycopg2
import pytest
from kafka import KafkaProducer

from secmon import manifest, settings
from secmon.core import kafka_clients
from secmon.core.events import Event, EventEncoder, parse_event
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import LANDING_TABLE, PENDING_TABLE, Ingester, ensure_landing_table
from secmon.engine.refresh import Refresher, compile_views
from secmon.engine.stream import Stream
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, publish
from secmon.settings import WINDOW_CLOSE_TABLE
from secmon.stack import postgres

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC, SCHEMA = "oracle_logs", "oracle"
MIX = Mix(rate=40, seed=11, attacks_per_scenario=1)
START_MS, DURATION_MS = 1_706_184_000_000, 4 * 60_000

VALID = EventEncoder().encode(
    Event(
        START_MS + 1,
        "203.0.113.9",
        "<script>alert('x')</script>",
        "/search?q=1' OR '1'='1'; DROP TABLE users;--\t\\N",
        "GET",
        200,
        12,
        "direct",
        None,
        "robert'); DROP TABLE students;--",
        "navigate_page",
        "low",
    )
)


def variant(**changes) -> bytes:
    return json.dumps({**json.loads(VALID), **changes}).encode()


MALFORMED = {
    b"not json at all": "not JSON",
    b'["a", "json", "array"]': "expected a JSON object, got list",
    b'{"request_timestamp": "2024-01-25T12:00:00.000Z"}': "missing field(s): ip_address",
    variant(status_code="200"): "status_code: expected a 32-bit integer",
    variant(response_time=1.5): "response_time: expected a 32-bit integer",
    variant(ip_address=None): "ip_address: must not be null",
    variant(user_action="hack"): "user_action: 'hack' is not one of",
    variant(request_timestamp="yesterday"): "request_timestamp: 'yesterday' is not an ISO-8601 timestamp",
    variant(url="x" * 1_000_000): "message is 1000",
    b'{"ip_address": "\xff\xfe"}': "not UTF-8",
    variant(url="/a\u0000b"): "nul_character: url contains a NUL character",
    variant(username="\ud800"): "lone_surrogate: username holds a lone UTF-16 surrogate",
}


@pytest.fixture(scope="module")
def schema_env():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECMON_PG_SCHEMA", SCHEMA)
        yield


@pytest.fixture(scope="module")
def pipeline(endpoints, schema_env):
    """Publishes a deterministic mix plus malformed messages, ingests it, runs `dbt build`."""
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, TOPIC, 3)
    postgres.ensure_database(endpoints.pg_url, settings.PG_DATABASE, SCHEMA)
    summary = publish(plan(MIX, START_MS, DURATION_MS), KafkaSink(endpoints.bootstrap_servers, TOPIC, "oracle_labels"))
    assert summary.undelivered == 0
    producer = KafkaProducer(bootstrap_servers=endpoints.bootstrap_servers, max_request_size=4 * 2**20)
    for raw in [*MALFORMED, VALID]:
        producer.send(TOPIC, value=raw)
    producer.send(TOPIC, key=b"tombstone", value=None)
    producer.flush()
    producer.close()
    ensure_landing_table(endpoints)
    ingester = Ingester(endpoints, topic=TOPIC, schema=SCHEMA)
    totals = ingester.drain()
    ingester.close()
    build_code = run_dbt(["build", "-t", "local", "--quiet"], endpoints)
    return list(plan(MIX, START_MS, DURATION_MS).events()) + [parse_event(VALID)], totals, build_code


def query(endpoints, statement: str, params=()) -> list[tuple]:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def test_ingest_lands_every_valid_event_and_rejects_the_rest(pipeline, endpoints):
    events, totals, _ = pipeline
    assert (totals.ingested, totals.rejected) == (len(events), len(MALFORMED) + 1)
    assert query(
        endpoints, f"select count(*), count(distinct (kafka_partition, kafka_offset)) from {SCHEMA}.website_logs_source"
    ) == [(len(events), len(events))]
    rejects = query(endpoints, f"select raw_value, reason from {SCHEMA}.website_logs_source_rejects")
    assert sorted(reason for raw, reason in rejects if raw is None) == ["no_value: message has no value (null)"]
    stored = {bytes(raw): reason for raw, reason in rejects if raw is not None}
    assert stored.keys() == MALFORMED.keys()
    for raw, reason in stored.items():
        assert MALFORMED[raw] in reason, (raw[:80], reason)
        assert "\n" not in reason


def test_sql_and_html_payloads_are_stored_verbatim(pipeline, endpoints):
    expected = json.loads(VALID)
    assert query(
        endpoints,
        f"select user_agent, url, username from {SCHEMA}.website_logs_source where ip_address = %s",
        (expected["ip_address"],),
    ) == [(expected["user_agent"], expected["url"], expected["username"])]


def test_ingest_again_adds_nothing(pipeline, endpoints):
    events, _, _ = pipeline
    ingester = Ingester(endpoints, topic=TOPIC, schema=SCHEMA)
    totals = ingester.drain()
    ingester.close()
    assert (totals.ingested, totals.rejected) == (0, 0)
    assert query(endpoints, f"select count(*) from {SCHEMA}.website_logs_source") == [(len(events),)]


def test_dbt_build_passes_on_producer_data(pipeline):
    assert pipeline[2] == 0


def assert_view_equals_oracle(endpoints, view: str, events: list) -> None:
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        oracle.assert_view_matches(cur, f"{SCHEMA}.{view}", view, events)
    conn.close()


@pytest.mark.parametrize("view", oracle.VIEWS)
def test_view_equals_the_python_oracle(pipeline, endpoints, view):
    assert_view_equals_oracle(endpoints, view, pipeline[0])


@pytest.fixture(scope="module")
def streamed(pipeline, endpoints, tmp_path_factory):
    """More traffic over the same minutes (late events into built windows) and later ones,
    brought into the views by the stream engine's window-incremental refresh."""
    late = Mix(rate=25, seed=12, attacks_per_scenario=0)
    summary = publish(
        plan(late, START_MS + 60_000, DURATION_MS), KafkaSink(endpoints.bootstrap_servers, TOPIC, "oracle_labels")
    )
    assert summary.undelivered == 0
    batches = []
    runner = Stream(
        endpoints,
        tmp_path_factory.mktemp("stream-state"),
        max_batch=2000,
        topic=TOPIC,
        schema=SCHEMA,
        max_cycle_events=2000,
    )
    runner.run(batches.append, idle_exit_after=2)
    return pipeline[0] + list(plan(late, START_MS + 60_000, DURATION_MS).events()), batches


@pytest.mark.parametrize("view", oracle.VIEWS)
def test_stream_keeps_each_view_equal_to_the_oracle(streamed, endpoints, view):
    events, batches = streamed
    assert len(batches) >= 2  # several incremental refreshes, not one rebuild
    assert_view_equals_oracle(endpoints, view, events)


def queries_over_every_event(endpoints, target: Path, select: str | None = None) -> dict[str, str]:
    """Each model's query as `dbt build` runs it (not the engine's incremental one), by name."""
    selection = ["-s", select] if select else []
    assert run_dbt(["compile", "-t", "local", "--quiet", *selection, "--target-path", str(target)], endpoints) == 0
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    return {node["name"]: node["compiled_code"] for node in nodes if node.get("compiled_code")}


@pytest.mark.parametrize("view", ["attack_requests", "hub_requests", "listed_requests"])
def test_stream_keeps_each_request_grain_view_equal_to_its_query_over_every_event(streamed, endpoints, view, tmp_path):
    """The stream adds each batch's rows (by landed_id), and reads again a batch that a full build
    already holds: the rows are exactly those of the model's query over every event, none twice."""
    every_event = queries_over_every_event(endpoints, tmp_path, view)[view]
    kept = f"select * from {SCHEMA}.{view}"
    assert query(endpoints, f"select count(*) from {SCHEMA}.{view}")[0][0] > 0
    # No parameters: the compiled SQL holds LIKE patterns' % signs.
    assert query(endpoints, f"({every_event}) except all ({kept})", None) == []
    assert query(endpoints, f"({kept}) except all ({every_event})", None) == []


def test_a_request_grain_refresh_finds_the_new_rows_by_index(streamed, endpoints, tmp_path):
    """The refresh's query reads the pending rows through the landing table's landed_id index, never
    a scan of the whole history (the refresh turns sequential scans off, as here)."""
    views = {view.name: view for view in compile_views(endpoints, tmp_path)}
    assert {name for name, view in views.items() if view.request_grain} == {
        "attack_requests",
        "hub_requests",
        "listed_requests",
    }
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute("set enable_seqscan = off")
        cur.execute("explain " + views["listed_requests"].select_sql)
        plan = "\n".join(row[0] for row in cur.fetchall())
    conn.close()
    assert f"{LANDING_TABLE}__landed" in plan
    assert f"Seq Scan on {LANDING_TABLE}" not in plan


def test_stream_keeps_each_closed_window_of_a_detection_equal_to_its_query_over_every_event(
    streamed, endpoints, tmp_path
):
    """A detection's windows are computed once each, when the watermark passes their end (hop windows
    too): every closed window holds exactly what the model's query over every event gives it."""
    closing = [view for view in compile_views(endpoints, tmp_path / "engine") if view.closes_windows]
    assert {view.name for view in closing} == {detection.name for detection in manifest.detections()}
    full = queries_over_every_event(endpoints, tmp_path / "full")
    (watermark,) = query(endpoints, f"select watermark from {SCHEMA}.{WINDOW_CLOSE_TABLE}")[0]
    closed_rows = 0
    for view in closing:
        every_event = f"select * from ({full[view.name]}) as every_event where window_end <= '{watermark.isoformat()}'"
        kept = f"select * from {SCHEMA}.{view.name} where window_end <= '{watermark.isoformat()}'"
        assert query(endpoints, f"({every_event}) except all ({kept})", None) == [], view.name
        assert query(endpoints, f"({kept}) except all ({every_event})", None) == [], view.name
        closed_rows += query(endpoints, f"select count(*) from ({kept}) as kept")[0][0]
    assert closed_rows > 5


def test_a_detection_is_refreshed_when_its_windows_close_not_at_every_batch(streamed, endpoints, tmp_path):
    """New events alone leave the detections alone (their open windows are shown only every
    OPEN_WINDOWS_SECONDS); a watermark past a window's end refreshes them, in the background: the
    refresh that moves the watermark does not wait for them."""
    views = compile_views(endpoints, tmp_path)
    closing = {view.name for view in views if view.closes_windows}
    (watermark,) = query(endpoints, f"select watermark from {SCHEMA}.{WINDOW_CLOSE_TABLE}")[0]
    connections = [psycopg2.connect(endpoints.pg_url) for _ in range(2)]
    refresher = Refresher(connections, views, SCHEMA)
    try:
        refresher.next_open_refresh = dict.fromkeys(closing, math.inf)
        with connections[0].cursor() as cur:  # a new minute of events has landed
            cur.execute(
                f"insert into {SCHEMA}.{PENDING_TABLE} values (date_trunc('minute', %s::timestamptz))", (watermark,)
            )
        connections[0].commit()
        refreshed = refresher.refresh(watermark)
        refreshed |= refresher.wait_for_windows()
        assert refreshed and not closing & set(refreshed)
        assert not closing & set(refresher.refresh(watermark + timedelta(minutes=5)))
        assert refresher.window_job is not None
        assert closing <= set(refresher.wait_for_windows())
        assert refresher.emitted_until == watermark + timedelta(minutes=5)
    finally:
        refresher.close()
        for conn in connections:
            conn.close()
