"""The production path: deploy/docker-compose.yml checked against the project's own settings, and
`secmon deploy`, which runs for real when SECMON_RISINGWAVE_URL points at a RisingWave."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import psycopg2
import pytest
import yaml
from click.testing import CliRunner
from conftest import needs_risingwave
from support import AnsweringConnection

from secmon import settings
from secmon.cli import cli
from secmon.core.events import FIELDS
from secmon.dbt_runner import run_dbt
from secmon.grafana import dashboards, panels
from secmon.production import deploy
from secmon.production.risingwave import MINIMUM_VERSION, RisingWave, source_bootstrap_servers

COMPOSE_FILE = settings.PROJECT_DIR / "deploy" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def profile_default(variable: str) -> str:
    """The default profiles.yml gives `env_var(variable, default)` for the risingwave target."""
    match = re.search(rf"env_var\('{variable}', '([^']*)'\)", (settings.PROJECT_DIR / "profiles.yml").read_text())
    assert match, variable
    return match[1]


def published_ports(service: dict) -> set[int]:
    return {int(str(port).split(":")[-2 if str(port).count(":") else -1]) for port in service.get("ports", [])}


def compose_config(**environment: str) -> subprocess.CompletedProcess:
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.fail("docker-compose is missing: `make test-tools` (part of `make test`) installs Debian's")
    env = {key: value for key, value in os.environ.items() if key != deploy.ENV_GRAFANA_DB_PASSWORD}
    return subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        env={**env, **environment},
    )


@pytest.mark.tools
def test_docker_compose_accepts_the_file():
    result = compose_config(**{deploy.ENV_GRAFANA_DB_PASSWORD: "reader-secret"})
    assert result.returncode == 0, result.stderr


@pytest.mark.tools
def test_grafana_and_deploy_need_the_same_reader_password(compose):
    """No default on either side: Grafana logs in as grafana_reader with the password deploy sets."""
    result = compose_config()
    assert result.returncode != 0 and deploy.ENV_GRAFANA_DB_PASSWORD in result.stderr
    required = f"${{{deploy.ENV_GRAFANA_DB_PASSWORD}:?"
    grafana, secmon = compose["services"]["grafana"]["environment"], compose["services"]["secmon"]["environment"]
    assert grafana["SECMON_GRAFANA_RISINGWAVE_PASSWORD"].startswith(required)
    assert secmon[deploy.ENV_GRAFANA_DB_PASSWORD].startswith(required)


def test_every_image_is_pinned_by_tag(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag and tag not in ("", "latest"), f"{name}: {image} is not pinned"
    tag = compose["services"]["risingwave"]["image"].rpartition(":v")[2]
    assert tuple(map(int, tag.split("."))) == MINIMUM_VERSION, (
        "pin the RisingWave secmon.production.risingwave requires"
    )


def test_every_service_has_a_health_check_and_data_lives_in_named_volumes(compose):
    for name, service in compose["services"].items():
        if "cli" not in service.get("profiles", []):
            assert service["healthcheck"]["test"], name
    named = set(compose["volumes"])
    used = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == named == {"risingwave-data", "grafana-data"}


def test_risingwave_is_checked_by_a_tcp_connect_only(compose):
    """Writing HTTP into RisingWave's PostgreSQL port logs a protocol error every check."""
    check = " ".join(compose["services"]["risingwave"]["healthcheck"]["test"])
    port = profile_default("SECMON_RISINGWAVE_PORT")
    assert f"> /dev/tcp/127.0.0.1/{port}" in check and "printf" not in check and "GET" not in check


def test_risingwave_is_where_profiles_yml_and_deploy_look(compose, monkeypatch):
    for suffix in ("HOST", "PORT", "USER", "DATABASE"):
        monkeypatch.delenv(f"SECMON_RISINGWAVE_{suffix}", raising=False)
    risingwave = RisingWave.from_environment()
    assert (risingwave.host, str(risingwave.port), risingwave.user, risingwave.database) == tuple(
        profile_default(f"SECMON_RISINGWAVE_{suffix}") for suffix in ("HOST", "PORT", "USER", "DATABASE")
    )
    assert risingwave.host == "localhost" and risingwave.port in published_ports(compose["services"]["risingwave"])
    secmon = compose["services"]["secmon"]["environment"]
    assert (secmon["SECMON_RISINGWAVE_HOST"], secmon["SECMON_RISINGWAVE_PORT"]) == ("risingwave", str(risingwave.port))


def test_warpstream_has_its_own_address_and_advertises_it(compose):
    """No shared network namespace: RisingWave and the secmon service reach the agent by the name it
    advertises, so a restart of either leaves the other's connections valid."""
    warpstream = compose["services"]["warpstream"]
    assert "network_mode" not in warpstream and not any("network_mode" in s for s in compose["services"].values())
    command = warpstream["command"]
    advertised = command[command.index("-advertiseHostnameCustom") + 1]
    assert advertised == warpstream["hostname"] == "warpstream"
    assert warpstream["environment"]["WARPSTREAM_DISCOVERY_KAFKA_HOSTNAME_OVERRIDE"] == advertised
    assert (
        warpstream["healthcheck"]["test"][warpstream["healthcheck"]["test"].index("-bootstrap-host") + 1] == advertised
    )
    secmon = compose["services"]["secmon"]["environment"]
    assert secmon[settings.ENV_BOOTSTRAP] == secmon["SECMON_SOURCE_BOOTSTRAP_SERVERS"] == f"{advertised}:9092"


def test_the_source_defaults_to_the_producers_broker(monkeypatch):
    monkeypatch.delenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv(settings.ENV_BOOTSTRAP, raising=False)
    assert source_bootstrap_servers() == "localhost:9092"
    monkeypatch.setenv(settings.ENV_BOOTSTRAP, "broker:9092")
    assert source_bootstrap_servers() == "broker:9092"


def test_grafana_gets_every_variable_and_file_the_provisioning_needs(compose, tmp_path):
    grafana = compose["services"]["grafana"]
    environment = grafana["environment"]
    dashboards.build(tmp_path)
    provisioning = (tmp_path / "provisioning/datasources/secmon.yaml").read_text()
    needed = set(re.findall(r"\$\{(\w+)\}", provisioning))
    assert needed and needed <= set(environment), f"unset in compose: {sorted(needed - set(environment))}"
    assert environment["SECMON_GRAFANA_RISINGWAVE_HOST"] == f"risingwave:{profile_default('SECMON_RISINGWAVE_PORT')}"
    assert environment["SECMON_GRAFANA_RISINGWAVE_DATABASE"] == profile_default("SECMON_RISINGWAVE_DATABASE")
    assert environment["SECMON_GRAFANA_RISINGWAVE_USER"] == deploy.GRAFANA_DB_USER
    assert environment["SECMON_GRAFANA_LOCAL_PG_HOST"] == f"host.docker.internal:{settings.DEFAULT_PG_PORT}"
    assert environment["SECMON_GRAFANA_LOCAL_PG_DATABASE"] == settings.PG_DATABASE
    assert 3000 in published_ports(grafana)

    mounts = dict(volume.rsplit(":", 1)[0].split(":", 1) for volume in grafana["volumes"] if volume.startswith(".."))
    provider = yaml.safe_load((tmp_path / "provisioning/dashboards/secmon.yaml").read_text())["providers"][0]
    assert mounts == {
        "../build/grafana/provisioning/datasources": "/etc/grafana/provisioning/datasources",
        "../build/grafana/provisioning/dashboards": "/etc/grafana/provisioning/dashboards",
        "../build/grafana/dashboards": provider["options"]["path"],
    }
    assert (COMPOSE_FILE.parent / "../build/grafana").resolve() == settings.GRAFANA_BUILD_DIR
    passwords = re.findall(r"password: (.*)", provisioning)
    assert passwords and all(re.fullmatch(r"\$\{\w+\}", value) for value in passwords), "a secret in a file"


def test_deploy_without_risingwave_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("SECMON_RISINGWAVE_PORT", "1")
    result = CliRunner().invoke(cli, ["deploy", "--target", "risingwave"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: RisingWave at localhost:1/dev is unreachable")
    assert result.output.count("\n") == 1


def test_deploy_with_grafana_but_no_reader_password_fails_before_touching_anything(monkeypatch):
    monkeypatch.delenv(deploy.ENV_GRAFANA_DB_PASSWORD, raising=False)
    monkeypatch.setenv("SECMON_RISINGWAVE_PORT", "1")
    result = CliRunner().invoke(
        cli, ["deploy", "--target", "risingwave", "--grafana-url", "http://127.0.0.1:1", "--token", "t"]
    )
    assert result.exit_code == 1
    assert result.output == (
        f"Error: set {deploy.ENV_GRAFANA_DB_PASSWORD}: Grafana reads RisingWave as "
        f"{deploy.GRAFANA_DB_USER}, whom deploy creates with that password "
        "(deploy/docker-compose.yml gives Grafana the same variable)\n"
    )


@pytest.mark.integration
@needs_risingwave
def test_deploy_is_idempotent_and_the_grafana_user_only_reads(risingwave_env, monkeypatch):
    monkeypatch.setenv(deploy.ENV_GRAFANA_DB_PASSWORD, "reader-secret")
    from secmon.grafana.client import GrafanaClient

    grafana = None
    if os.environ.get("GRAFANA_URL"):
        grafana = GrafanaClient(
            os.environ["GRAFANA_URL"],
            os.environ.get("GRAFANA_TOKEN"),
            os.environ.get("GRAFANA_USER"),
            os.environ.get("GRAFANA_PASSWORD"),
        )
    risingwave = RisingWave.from_environment()
    deploy.deploy_risingwave(risingwave, grafana, panels.RISINGWAVE_DATASOURCE_UID, lambda step: None)
    second = deploy.deploy_risingwave(risingwave, grafana, panels.RISINGWAVE_DATASOURCE_UID, lambda step: None)
    assert all(step.result.startswith("unchanged") for step in second if step.what.startswith("Grafana "))
    reader = psycopg2.connect(
        host=risingwave.host,
        port=risingwave.port,
        user=deploy.GRAFANA_DB_USER,
        password="reader-secret",
        dbname=risingwave.database,
    )
    reader.autocommit = True
    with reader.cursor() as cur:
        cur.execute("select count(*) from security_alerts")
        with pytest.raises(psycopg2.Error):
            cur.execute("create table grafana_must_not_write (x int)")
    reader.close()


def test_a_deploy_reloads_only_the_seeds_that_changed(endpoints, monkeypatch):
    """dbt reloads a seed with delete and insert, which a view joined with it would see as history
    retracted: deploy leaves out every seed whose table already holds its CSV rows."""
    monkeypatch.setenv(settings.ENV_PG_SCHEMA, "seed_check")
    assert run_dbt(["seed", "-t", "local", "--quiet"], endpoints) == 0
    every_seed = {path.stem for path in (settings.PROJECT_DIR / "seeds").glob("*.csv")}
    conn = psycopg2.connect(endpoints.pg_url)
    conn.autocommit = True
    try:
        assert set(deploy.unchanged_seeds(conn, "seed_check")) == every_seed
        with conn.cursor() as cur:
            cur.execute("update seed_check.http_status_codes set description = 'edited' where status_code = 404")
            cur.execute("drop table seed_check.login_endpoints")
        assert set(deploy.unchanged_seeds(conn, "seed_check")) == every_seed - {"http_status_codes", "login_endpoints"}
    finally:
        conn.close()


def catalog_connection(append_only: bool | None) -> AnsweringConnection:
    """rw_catalog.rw_tables' answer for the alerts table: its append_only, or no row."""
    return AnsweringConnection(None if append_only is None else (append_only,))


def test_an_alerts_table_of_the_old_shape_is_named_in_one_line_with_what_to_run():
    line = deploy.alerts_table_migration(catalog_connection(False), "public")
    assert line.startswith("public.security_alerts is the old table (not APPEND ONLY, so no retention): run ")
    assert "`secmon deploy --target risingwave --migrate`" in line and "\n" not in line


@pytest.mark.parametrize("append_only", [None, True], ids=["absent", "current"])
def test_an_absent_or_current_alerts_table_needs_no_migration(append_only):
    assert deploy.alerts_table_migration(catalog_connection(append_only), "public") == ""


def test_migrate_drops_the_old_table_with_its_sinks():
    conn = catalog_connection(False)
    deploy.recreate_alerts_table(conn, "public")
    statement = repr(conn.executed[-1][0])
    assert "SQL('drop table ')" in statement and "Identifier('security_alerts')" in statement
    assert statement.endswith("SQL(' cascade')])")


def source_catalog(columns: list[str]) -> AnsweringConnection:
    """rw_catalog.rw_columns' answer for the source: its column names (none: no source)."""
    return AnsweringConnection(tuple((name,) for name in columns) or None)


def test_a_source_without_a_new_event_field_is_named_in_one_line_with_what_to_run():
    old_columns = [field for field in FIELDS if field != "tags"]
    line = deploy.source_migration(source_catalog(old_columns), "public")
    assert line.startswith("public.website_logs_source lacks the event field(s) tags: run ")
    assert "`secmon deploy --target risingwave --migrate`" in line and "\n" not in line


@pytest.mark.parametrize("columns", [[], list(FIELDS)], ids=["absent", "current"])
def test_an_absent_or_current_source_needs_no_migration(columns):
    assert deploy.source_migration(source_catalog(columns), "public") == ""


def test_migrate_drops_the_old_source_with_the_views_over_it():
    conn = source_catalog(["request_timestamp"])
    deploy.recreate_source(conn, "public")
    statement = repr(conn.executed[-1][0])
    assert "SQL('drop source ')" in statement and "Identifier('website_logs_source')" in statement
    assert statement.endswith("SQL(' cascade')])")
