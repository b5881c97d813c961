"""`secmon doctor`: its broker and topic checks against the embedded broker, its Grafana checks
against the local Grafana test server over a real PostgreSQL, its RisingWave checks against
PostgreSQL (which they must refuse) and, when SECMON_RISINGWAVE_URL is set, against RisingWave."""

from __future__ import annotations

import subprocess
import sys

import psycopg2
import pytest
from click.testing import CliRunner
from conftest import needs_risingwave
from fake_grafana import TOKEN
from psycopg2.extensions import parse_dsn

from secmon import settings
from secmon.cli import cli
from secmon.core import kafka_clients
from secmon.grafana import panels
from secmon.grafana.alert_rules import rule_uid
from secmon.grafana.client import GrafanaClient, push_all
from secmon.production.deploy import GRAFANA_DB_USER
from secmon.production.doctor import broker_checks, grafana_checks, risingwave_checks
from secmon.production.risingwave import RisingWave

SCHEMA = "doctor"


@pytest.fixture(scope="module")
def reader_url(endpoints) -> str:
    """The embedded stack's own read-only grafana_reader, seeing a security_alerts table that the owner made."""
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"create schema if not exists {SCHEMA}")
        cur.execute(f"create table if not exists {SCHEMA}.{settings.ALERTS_TABLE} (alert_id text)")
    conn.close()
    assert parse_dsn(endpoints.pg_reader_url)["user"] == GRAFANA_DB_USER
    return f"{endpoints.pg_reader_url}?options=-csearch_path%3D{SCHEMA}"


def lines(checks) -> list[str]:
    rendered = [check.line() for check in checks]
    assert all("\n" not in line for line in rendered)
    return rendered


def test_doctor_loads_no_local_engine():
    """Production's check reads table names from secmon.settings, not from the local engine it never runs."""
    loaded = (
        "import sys, secmon.production.doctor; print(sorted(m for m in sys.modules if m.startswith('secmon.engine')))"
    )
    assert subprocess.run([sys.executable, "-c", loaded], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_the_broker_and_both_topics(endpoints):
    for topic in (settings.EVENTS_TOPIC, settings.ALERTS_TOPIC):
        kafka_clients.ensure_topic(endpoints.bootstrap_servers, topic, 1)
    checks = list(broker_checks(endpoints.bootstrap_servers))
    assert [check.name for check in checks] == [
        "broker",
        f"topic {settings.EVENTS_TOPIC}",
        f"topic {settings.ALERTS_TOPIC}",
    ]
    assert all(check.ok for check in checks), lines(checks)


def test_an_unreachable_broker_is_one_failed_line():
    checks = list(broker_checks("127.0.0.1:1"))
    assert [(check.name, check.ok) for check in checks] == [("broker", False)]
    assert "127.0.0.1:1" in checks[0].detail


def test_grafana_answers_as_the_reader_and_has_every_rule(grafana, reader_url):
    client = GrafanaClient(grafana.url, token=TOKEN)
    uid = panels.RISINGWAVE_DATASOURCE_UID
    grafana.datasources[uid] = ({"uid": uid, "user": GRAFANA_DB_USER}, reader_url)
    push_all(client, uid)
    assert all(check.ok for check in grafana_checks(client, uid)), lines(grafana_checks(client, uid))

    missing = rule_uid("brute_force")
    del grafana.rules[missing]
    datasource, rules = grafana_checks(client, uid)
    assert datasource.ok and not rules.ok and missing in rules.detail


def test_a_datasource_that_is_not_the_reader_or_cannot_read_fails(grafana, reader_url, endpoints):
    client = GrafanaClient(grafana.url, token=TOKEN)
    uid = panels.RISINGWAVE_DATASOURCE_UID
    grafana.datasources[uid] = ({"uid": uid, "user": "postgres"}, endpoints.pg_url)
    assert "not the read-only grafana_reader" in next(grafana_checks(client, uid)).detail
    grafana.datasources[uid] = ({"uid": uid, "user": GRAFANA_DB_USER}, reader_url.replace(SCHEMA, "nowhere"))
    check = next(grafana_checks(client, uid))
    assert not check.ok and "a query through it fails" in check.detail and settings.ALERTS_TABLE in check.detail


def test_postgresql_is_not_taken_for_risingwave(endpoints, reader_url, monkeypatch):
    dsn = parse_dsn(endpoints.pg_url)
    monkeypatch.setenv("SECMON_GRAFANA_PASSWORD", parse_dsn(endpoints.pg_reader_url)["password"])
    postgres = RisingWave(dsn["host"], int(dsn["port"]), dsn["user"], dsn.get("password", ""), dsn["dbname"], SCHEMA)
    checks = {check.name: check for check in risingwave_checks(postgres)}
    assert not checks["RisingWave version"].ok and "is not RisingWave" in checks["RisingWave version"].detail
    assert not checks["Kafka connection"].ok and "rw_catalog" in checks["Kafka connection"].detail
    assert not checks["sink security_alerts_sink"].ok
    assert checks[f"user {GRAFANA_DB_USER}"].ok, checks[f"user {GRAFANA_DB_USER}"].detail


def test_cli_prints_a_line_per_check_and_fails_when_one_does(endpoints, monkeypatch):
    monkeypatch.setenv("SECMON_RISINGWAVE_PORT", "1")
    result = CliRunner().invoke(cli, ["doctor", "--bootstrap-server", endpoints.bootstrap_servers])
    assert result.exit_code == 1
    output = result.output.splitlines()
    assert output[0].startswith("ok   broker: ")
    assert output[-1].startswith("FAIL RisingWave: RisingWave at localhost:1/dev is unreachable")


@pytest.mark.integration
@needs_risingwave
def test_doctor_on_a_deployed_risingwave(risingwave_env):
    failed = [check.line() for check in risingwave_checks(RisingWave.from_environment()) if not check.ok]
    assert not failed, failed
