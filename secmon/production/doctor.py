"""`secmon doctor`: is a deployed stack ready? One check per line, each independent of the others'
success where it can be: RisingWave's version, the broker and topics, the Kafka connection, events
arriving, every view, the sinks, Grafana's datasource as the read-only user, and the alert rules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import NamedTuple

import psycopg2
from kafka.errors import KafkaError
from psycopg2 import sql

from secmon import manifest, settings
from secmon.core import kafka_clients
from secmon.errors import SecmonError
from secmon.grafana.client import GrafanaClient
from secmon.production.deploy import ENV_GRAFANA_DB_PASSWORD, GRAFANA_DB_USER
from secmon.production.risingwave import KAFKA_CONNECTION, RisingWave, check_version

# How old the newest event may be before the source counts as receiving nothing.
STALE_AFTER_SECONDS = 300


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def checked(name: str, probe: Callable[[], str]) -> Check:
    """The probe's answer as a passed check; a SecmonError, a database or a Kafka error as a failed one."""
    try:
        return Check(name, True, probe())
    except SecmonError as exc:
        return Check(name, False, str(exc))
    except (psycopg2.Error, KafkaError, OSError) as exc:
        return Check(name, False, (str(exc).strip().splitlines() or [type(exc).__name__])[0])


def broker_checks(bootstrap_servers: str) -> Iterator[Check]:
    """The broker answers with the configured security (SECMON_KAFKA_*), and both topics exist."""
    found: set[str] = set()

    def broker() -> str:
        found.update(kafka_clients.list_topics(bootstrap_servers))
        return f"{bootstrap_servers} answers ({len(found)} topics)"

    check = checked("broker", broker)
    yield check
    for topic in (settings.EVENTS_TOPIC, settings.ALERTS_TOPIC):
        if check.ok:
            yield Check(f"topic {topic}", topic in found, "exists" if topic in found else "missing: run secmon deploy")


def risingwave_checks(risingwave: RisingWave) -> Iterator[Check]:
    try:
        conn = risingwave.connect()
    except SecmonError as exc:
        yield Check("RisingWave", False, str(exc))
        return
    try:
        yield checked("RisingWave version", lambda: check_version(conn))
        yield checked("Kafka connection", lambda: _exists(conn, "rw_connections", KAFKA_CONNECTION, risingwave.schema))
        yield checked("source receives events", lambda: _newest_event(conn, risingwave.schema))
        for name, must_have_rows in _relations():
            yield checked(
                f"view {name}", lambda name=name, must=must_have_rows: _rows(conn, risingwave.schema, name, must)
            )
        for sink in _sinks():
            yield checked(f"sink {sink}", lambda sink=sink: _exists(conn, "rw_sinks", sink, risingwave.schema))
    finally:
        conn.close()
    yield checked(f"user {GRAFANA_DB_USER}", lambda: _reader_reads(risingwave))


def grafana_checks(grafana: GrafanaClient, datasource_uid: str) -> Iterator[Check]:
    from secmon.grafana.alert_rules import rules
    from secmon.grafana.dashboards import FOLDER_UID

    yield checked(f"Grafana datasource {datasource_uid}", lambda: _datasource_answers(grafana, datasource_uid))
    expected = {rule["uid"] for rule in rules(FOLDER_UID, datasource_uid)}

    def alert_rules() -> str:
        present = {rule["uid"] for rule in grafana.request("GET", "/api/v1/provisioning/alert-rules")}
        missing = sorted(expected - present)
        if missing:
            raise SecmonError(f"{len(missing)} of {len(expected)} missing ({', '.join(missing)}): run secmon deploy")
        return f"all {len(expected)} present"

    yield checked("Grafana alert rules", alert_rules)


def _relations() -> list[tuple[str, bool]]:
    """Every relation dbt builds on RisingWave but the source, and whether it must have rows by now:
    the metric views must; a detection or the alerts table may rightly be empty."""
    return [
        (model.name, not model.is_detection and model.name != settings.ALERTS_TABLE)
        for name, model in sorted(manifest.models().items())
        if name != settings.LANDING_TABLE
    ]


def _sinks() -> list[str]:
    return ["security_alerts_sink"] + [f"{detection.name}__into_alerts" for detection in manifest.detections()]


def _exists(conn, catalog: str, name: str, schema: str) -> str:
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "select 1 from rw_catalog.{} c join rw_catalog.rw_schemas s on s.id = c.schema_id "
                "where c.name = %s and s.name = %s"
            ).format(sql.Identifier(catalog)),
            (name, schema),
        )
        if cur.fetchone() is None:
            raise SecmonError(f"{schema}.{name} is missing from rw_catalog.{catalog}: run secmon deploy")
    return "exists"


def _newest_event(conn, schema: str) -> str:
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("select extract(epoch from now() - max(request_timestamp)) from {}.newest_events").format(
                sql.Identifier(schema)
            )
        )
        age = cur.fetchone()[0]
    if age is None:
        raise SecmonError("no event yet: is anything producing to the topic?")
    if age > STALE_AFTER_SECONDS:
        raise SecmonError(f"the newest event is {age:.0f} s old: is anything producing to the topic?")
    return f"the newest event is {max(age, 0):.0f} s old"


def _rows(conn, schema: str, name: str, must_have_rows: bool) -> str:
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("select count(*) from (select 1 from {}.{} limit 1000) as sample").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
        )
        rows = cur.fetchone()[0]
    if rows == 0 and must_have_rows:
        raise SecmonError("exists but has no rows yet")
    return f"{'1000+' if rows == 1000 else rows} rows"


def _reader_reads(risingwave: RisingWave) -> str:
    password = os.environ.get(ENV_GRAFANA_DB_PASSWORD)
    if not password:
        raise SecmonError(f"set {ENV_GRAFANA_DB_PASSWORD} to check that Grafana's user logs in and only reads")
    conn = risingwave.connect(GRAFANA_DB_USER, password)
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(risingwave.schema), sql.Identifier(settings.ALERTS_TABLE)
                )
            )
            cur.execute(
                "select rolsuper or rolcreaterole or rolcreatedb from pg_catalog.pg_roles where rolname = %s",
                (GRAFANA_DB_USER,),
            )
            if cur.fetchone()[0]:
                raise SecmonError(f"{GRAFANA_DB_USER} can do more than read")
    finally:
        conn.close()
    return f"logs in and reads {settings.ALERTS_TABLE}"


def _datasource_answers(grafana: GrafanaClient, uid: str) -> str:
    datasource = grafana.request("GET", f"/api/datasources/uid/{uid}")
    if datasource.get("user") != GRAFANA_DB_USER:
        raise SecmonError(f"logs in as {datasource.get('user')!r}, not the read-only {GRAFANA_DB_USER}")
    answer = grafana.request(
        "POST",
        "/api/ds/query",
        {
            "from": "now-5m",
            "to": "now",
            "queries": [
                {
                    "refId": "A",
                    "datasource": {"uid": uid},
                    "format": "table",
                    "rawQuery": True,
                    "rawSql": f"select count(*) from {settings.ALERTS_TABLE}",
                }
            ],
        },
    )
    result = answer.get("results", {}).get("A", {})
    if result.get("error"):
        raise SecmonError(f"a query through it fails: {result['error']}")
    return f"answers as {GRAFANA_DB_USER}"
