"""`secmon deploy --target risingwave`: the models into RisingWave, a read-only user for Grafana,
and the dashboards and alert rules into Grafana. Every step is idempotent.

RisingWave is reached as profiles.yml's `risingwave` target reaches it (SECMON_RISINGWAVE_*),
Kafka as the RisingWave source does (dbt var kafka_bootstrap_servers), secrets come only from
the environment.
"""

from __future__ import annotations

import os
from typing import Callable, NamedTuple

import psycopg2
from psycopg2 import sql

from producer.kafka_client import ENV_SASL_PASSWORD, ENV_SECURITY_PROTOCOL
from secmon import settings
from secmon.dbt_runner import run_dbt
from secmon.errors import SecmonError
from secmon.grafana.client import GrafanaClient, push_all
from secmon.stack import topics

GRAFANA_DB_USER = "grafana_reader"
ENV_GRAFANA_DB_PASSWORD = "SECMON_GRAFANA_PASSWORD"
# The RisingWave secret holding the Kafka SASL password, which the source's DDL names.
KAFKA_PASSWORD_SECRET = settings.dbt_vars()["kafka_sasl_password_secret"]


class Step(NamedTuple):
    what: str
    result: str


class RisingWave(NamedTuple):
    host: str
    port: int
    user: str
    password: str
    database: str
    schema: str

    @classmethod
    def from_environment(cls) -> RisingWave:
        """RisingWave as profiles.yml's `risingwave` target reaches it (SECMON_RISINGWAVE_*)."""
        profile = settings.dbt_profile("risingwave")
        return cls(profile["host"], int(profile["port"]), profile["user"], profile["pass"], profile["dbname"],
                   profile["schema"])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    def connect(self):
        try:
            conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                    dbname=self.database, connect_timeout=5)
        except psycopg2.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0]
            raise SecmonError(f"RisingWave at {self.address} is unreachable ({reason}): start it with "
                              "`docker compose -p secmon -f deploy/docker-compose.yml up -d --wait` or set "
                              "SECMON_RISINGWAVE_HOST/_PORT") from None
        conn.autocommit = True
        return conn


def source_bootstrap_servers() -> str:
    """The broker address the RisingWave source uses: dbt_project.yml's kafka_bootstrap_servers."""
    return settings.render_env(settings.dbt_vars()["kafka_bootstrap_servers"])


def deploy_risingwave(risingwave: RisingWave, grafana: GrafanaClient | None, datasource_uid: str,
                      report: Callable[[Step], None]) -> list[Step]:
    """Topics, secrets, `dbt build -t risingwave`, the Grafana reader, then Grafana; each step reported."""
    steps: list[Step] = []

    def done(step: Step) -> None:
        steps.append(step)
        report(step)

    conn = risingwave.connect()
    try:
        done(Step("RisingWave", f"{risingwave.address} answers ({_version(conn)})"))
        # The topics are made from here: the address this host uses, which may differ from RisingWave's.
        bootstrap = os.environ.get(settings.ENV_BOOTSTRAP) or source_bootstrap_servers()
        for topic in (settings.EVENTS_TOPIC, settings.ALERTS_TOPIC):
            created = topics.ensure_topic(bootstrap, topic, settings.DEFAULT_PARTITIONS)
            done(Step(f"topic {topic}", f"{'created' if created else 'exists'} on {bootstrap}"))
        if os.environ.get(ENV_SECURITY_PROTOCOL, "PLAINTEXT").upper().startswith("SASL"):
            done(Step(f"secret {KAFKA_PASSWORD_SECRET}", ensure_secret(conn, KAFKA_PASSWORD_SECRET,
                                                                        _required(ENV_SASL_PASSWORD))))
        if run_dbt(["build", "-t", "risingwave"], None) != 0:
            raise SecmonError("`dbt build -t risingwave` failed: run `secmon dbt build -t risingwave` to see why")
        done(Step("dbt build -t risingwave", "source, seeds, materialized views, sink and tests: ok"))
        password = os.environ.get(ENV_GRAFANA_DB_PASSWORD)
        if password:
            done(Step(f"user {GRAFANA_DB_USER}", ensure_reader(conn, GRAFANA_DB_USER, password, risingwave.schema)))
        else:
            done(Step(f"user {GRAFANA_DB_USER}", f"skipped: set {ENV_GRAFANA_DB_PASSWORD} to create it"))
    finally:
        conn.close()
    if grafana is None:
        done(Step("Grafana", "skipped: no --grafana-url"))
    else:
        for change in push_all(grafana, datasource_uid):
            done(Step(f"Grafana {change.kind} {change.name}", change.action + (f" {change.url}" if change.url else "")))
    return steps


def _version(conn) -> str:
    with conn.cursor() as cur:
        cur.execute("select version()")
        return cur.fetchone()[0].split(" (")[0]


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SecmonError(f"{ENV_SECURITY_PROTOCOL} asks for SASL but {name} is not set")
    return value


def ensure_reader(conn, user: str, password: str, schema: str) -> str:
    """A user that can only read: SELECT on every source, table and materialized view of `schema`."""
    with conn.cursor() as cur:
        cur.execute("select 1 from pg_catalog.pg_user where usename = %s", (user,))
        exists = cur.fetchone() is not None
        verb = "alter" if exists else "create"
        cur.execute(sql.SQL(verb + " user {} with nosuperuser nocreatedb nocreateuser password %s").format(
            sql.Identifier(user)), (password,))
        for statement in reader_grants(user, schema):
            cur.execute(statement)
    return ("password updated" if exists else "created") + f", read-only on schema {schema}"


def reader_grants(user: str, schema: str) -> list[sql.Composed]:
    names = {"user": sql.Identifier(user), "schema": sql.Identifier(schema)}
    return [sql.SQL(statement).format(**names) for statement in (
        "grant usage on schema {schema} to {user}",
        "grant select on all materialized views in schema {schema} to {user}",
        "grant select on all sources in schema {schema} to {user}",
        "grant select on all tables in schema {schema} to {user}",
    )]


def ensure_secret(conn, name: str, value: str) -> str:
    """A RisingWave secret (meta backend), so the value never appears in DDL or dbt's target/."""
    with conn.cursor() as cur:
        cur.execute("select 1 from rw_catalog.rw_secrets where name = %s", (name,))
        exists = cur.fetchone() is not None
        verb = "alter" if exists else "create"
        cur.execute(sql.SQL(verb + " secret {} with (backend = 'meta') as %s").format(sql.Identifier(name)), (value,))
    return "updated" if exists else "created"
