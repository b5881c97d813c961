"""`secmon deploy --target risingwave`: the Kafka connection, the models into RisingWave, a read-only
user for Grafana, and the dashboards and alert rules into Grafana. Every step is idempotent: a
second deploy with nothing changed changes nothing, seeds included.

RisingWave is reached as profiles.yml's `risingwave` target reaches it (SECMON_RISINGWAVE_*),
Kafka as the RisingWave source does (risingwave.kafka_connection_properties); secrets come
only from the environment.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import NamedTuple

from psycopg2 import sql

from secmon import settings
from secmon.core import kafka_clients
from secmon.core.events import FIELDS
from secmon.dbt_runner import run_dbt
from secmon.errors import SecmonError
from secmon.grafana.client import GrafanaClient, push_all
from secmon.production.risingwave import (
    RisingWave,
    check_version,
    ensure_kafka_connection,
    source_bootstrap_servers,
)

GRAFANA_DB_USER = settings.PG_READER
ENV_GRAFANA_DB_PASSWORD = "SECMON_GRAFANA_PASSWORD"


class Step(NamedTuple):
    what: str
    result: str


Report = Callable[[Step], None]  # told each step as it is done


def deploy_risingwave(
    risingwave: RisingWave,
    grafana: GrafanaClient | None,
    datasource_uid: str,
    report: Report,
    migrate: bool = False,
) -> list[Step]:
    """Topics, the Kafka connection, `dbt build -t risingwave`, the Grafana reader, then Grafana.
    An alerts table of an older shape is re-created with `migrate`, and refused in one line without."""
    reader_password = os.environ.get(ENV_GRAFANA_DB_PASSWORD)
    if grafana is not None and not reader_password:
        # Grafana's datasource logs in as grafana_reader: without the user every panel and rule errors.
        raise SecmonError(
            f"set {ENV_GRAFANA_DB_PASSWORD}: Grafana reads RisingWave as {GRAFANA_DB_USER}, whom deploy "
            "creates with that password (deploy/docker-compose.yml gives Grafana the same variable)"
        )
    steps: list[Step] = []

    def done(step: Step) -> None:
        steps.append(step)
        report(step)

    conn = risingwave.connect()
    try:
        done(Step("RisingWave", f"{risingwave.address} answers: {check_version(conn)}"))
        _create_topics(done)
        done(Step("Kafka connection", ensure_kafka_connection(conn, risingwave.schema)))
        _migrate_tables(conn, risingwave.schema, migrate, done)
        _build_models(conn, risingwave.schema, done)
        done(_reader_step(conn, risingwave.schema, reader_password))
    finally:
        conn.close()
    if grafana is None:
        done(Step("Grafana", "skipped: no --grafana-url"))
    else:
        for change in push_all(grafana, datasource_uid):
            done(Step(f"Grafana {change.kind} {change.name}", change.action + (f" {change.url}" if change.url else "")))
    return steps


def _create_topics(done: Report) -> None:
    # The topics are made from here: the address this host uses, which may differ from RisingWave's.
    bootstrap = os.environ.get(settings.ENV_BOOTSTRAP) or source_bootstrap_servers()
    for topic in (settings.EVENTS_TOPIC, settings.ALERTS_TOPIC):
        created = kafka_clients.ensure_topic(bootstrap, topic, settings.DEFAULT_PARTITIONS)
        done(Step(f"topic {topic}", f"{'created' if created else 'exists'} on {bootstrap}"))


def _migrate_tables(conn, schema: str, migrate: bool, done: Report) -> None:
    """Re-creates the alerts table and the source when their shape is older, if `migrate`; refuses otherwise."""
    if migration := alerts_table_migration(conn, schema):
        if not migrate:
            raise SecmonError(migration)
        done(Step(f"table {settings.ALERTS_TABLE}", recreate_alerts_table(conn, schema)))
    if migration := source_migration(conn, schema):
        if not migrate:
            raise SecmonError(migration)
        done(Step(f"source {SOURCE}", recreate_source(conn, schema)))


def _build_models(conn, schema: str, done: Report) -> None:
    unchanged = unchanged_seeds(conn, schema)
    exclude = ["--exclude", *unchanged] if unchanged else []
    if run_dbt(["build", "-t", "risingwave", *exclude], None) != 0:
        raise SecmonError("`dbt build -t risingwave` failed: run `secmon dbt build -t risingwave` to see why")
    done(
        Step(
            "dbt build -t risingwave",
            "source, seeds, materialized views, sink and tests: ok"
            + (f" ({len(unchanged)} unchanged seeds left as they are)" if unchanged else ""),
        )
    )


def _reader_step(conn, schema: str, reader_password: str | None) -> Step:
    if not reader_password:
        return Step(f"user {GRAFANA_DB_USER}", f"skipped: no Grafana given; set {ENV_GRAFANA_DB_PASSWORD} to create it")
    return Step(f"user {GRAFANA_DB_USER}", ensure_reader(conn, GRAFANA_DB_USER, reader_password, schema))


# Whether the alerts table is APPEND ONLY, as models/alerts/security_alerts.sql creates it (RisingWave
# takes its retention_seconds only then). A table made before that keeps the old shape, since dbt
# creates it with `create table if not exists`. rw_catalog.rw_tables has an append_only column.
ALERTS_TABLE_APPEND_ONLY = (
    "select tables.append_only from rw_catalog.rw_tables as tables"
    " join rw_catalog.rw_schemas as schemas on schemas.id = tables.schema_id"
    " where schemas.name = %s and tables.name = %s"
)


def alerts_table_migration(conn, schema: str) -> str:
    """'' when the alerts table is absent or of the current shape; otherwise the one line to act on."""
    with conn.cursor() as cur:
        cur.execute(ALERTS_TABLE_APPEND_ONLY, (schema, settings.ALERTS_TABLE))
        row = cur.fetchone()
    if row is None or row[0]:
        return ""
    return (
        f"{schema}.{settings.ALERTS_TABLE} is the old table (not APPEND ONLY, so no retention): run "
        "`secmon deploy --target risingwave --migrate`, which drops it with its sinks and builds it again"
    )


def recreate_alerts_table(conn, schema: str) -> str:
    """Drops the old alerts table with the sinks into and out of it; the `dbt build` that follows
    creates it again and each detection's sink refills it from the detection's view, and the Kafka
    sink sends those alerts again (consumers drop repeats by alert_id)."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("drop table {}.{} cascade").format(sql.Identifier(schema), sql.Identifier(settings.ALERTS_TABLE))
        )
    return "dropped with its sinks (old shape); dbt build creates it APPEND ONLY with its retention"


SOURCE = "website_logs_source"  # models/ingest/website_logs_source.sql
# The event fields the source lacks. dbt-risingwave creates a source only when it is absent, so a
# source made before a field was added (tags, December 2026) keeps its old columns, and every view
# that reads the new one fails to build. rw_catalog.rw_columns lists a relation's columns.
SOURCE_COLUMNS = (
    "select columns.name from rw_catalog.rw_columns as columns"
    " join rw_catalog.rw_sources as sources on sources.id = columns.relation_id"
    " join rw_catalog.rw_schemas as schemas on schemas.id = sources.schema_id"
    " where schemas.name = %s and sources.name = %s"
)


def source_migration(conn, schema: str) -> str:
    """'' when the source is absent or has every event field; otherwise the one line to act on."""
    with conn.cursor() as cur:
        cur.execute(SOURCE_COLUMNS, (schema, SOURCE))
        present = {name for (name,) in cur.fetchall()}
    missing = [field for field in FIELDS if field not in present]
    if not present or not missing:
        return ""
    return (
        f"{schema}.{SOURCE} lacks the event field(s) {', '.join(missing)}: run `secmon deploy --target risingwave "
        "--migrate`, which drops it with the views over it and builds them again from the topic"
    )


def recreate_source(conn, schema: str) -> str:
    """Drops the old source with every view, sink and detection over it; the `dbt build` that follows
    creates them again, and the source reads the topic from var kafka_startup_mode (earliest: the
    retained events are counted again; consumers of security_alerts drop repeats by alert_id)."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("drop source {}.{} cascade").format(sql.Identifier(schema), sql.Identifier(SOURCE)))
    return "dropped with the views over it (old columns); dbt build creates them again"


def unchanged_seeds(conn, schema: str) -> list[str]:
    """The seeds whose table already holds exactly their CSV rows. dbt reloads a seed with delete and
    insert, which every view joined with it would see as a retraction of its history; these are left out."""
    unchanged = []
    for path in sorted((settings.PROJECT_DIR / "seeds").glob("*.csv")):
        with path.open(newline="") as file:
            header, *rows = list(csv.reader(file))
        expected = sorted(tuple(value if value != "" else None for value in row) for row in rows)
        columns = sql.SQL(", ").join(sql.SQL("cast({} as varchar)").format(sql.Identifier(name)) for name in header)
        with conn.cursor() as cur:
            cur.execute(
                "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
                (schema, path.stem),
            )
            if cur.fetchone() is None:
                continue
            cur.execute(
                sql.SQL("select {} from {}.{}").format(columns, sql.Identifier(schema), sql.Identifier(path.stem))
            )
            if sorted(cur.fetchall(), key=_sortable) == sorted(expected, key=_sortable):
                unchanged.append(path.stem)
    return unchanged


def _sortable(row: tuple) -> tuple:
    return tuple((value is None, value or "") for value in row)


def ensure_reader(conn, user: str, password: str, schema: str) -> str:
    """A user that can only read: SELECT on every source, table, view and materialized view of `schema`."""
    with conn.cursor() as cur:
        cur.execute("select 1 from pg_catalog.pg_user where usename = %s", (user,))
        exists = cur.fetchone() is not None
        verb = "alter" if exists else "create"
        cur.execute(
            sql.SQL(verb + " user {} with nosuperuser nocreatedb nocreateuser password %s").format(
                sql.Identifier(user)
            ),
            (password,),
        )
        for statement in reader_grants(user, schema):
            cur.execute(statement)
    return ("password updated" if exists else "created") + f", read-only on schema {schema}"


def reader_grants(user: str, schema: str) -> list[sql.Composed]:
    names = {"user": sql.Identifier(user), "schema": sql.Identifier(schema)}
    return [
        sql.SQL(statement).format(**names)
        for statement in (
            "grant usage on schema {schema} to {user}",
            "grant select on all materialized views in schema {schema} to {user}",
            "grant select on all sources in schema {schema} to {user}",
            "grant select on all tables in schema {schema} to {user}",
            "grant select on all views in schema {schema} to {user}",
        )
    ]
