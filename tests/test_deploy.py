"""The production path: deploy/docker-compose.yml checked against the project's own settings, and
`secmon deploy`, which runs for real when SECMON_RISINGWAVE_URL points at a RisingWave."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from urllib.parse import urlparse

import psycopg2
import pytest
import yaml
from click.testing import CliRunner

from secmon import deploy, settings
from secmon.cli import cli
from secmon.grafana import dashboards, panels

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


def test_docker_compose_accepts_the_file():
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.fail("docker-compose is missing: `make test-tools` (part of `make test`) installs Debian's")
    result = subprocess.run([docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_image_is_pinned_by_tag(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag and tag not in ("", "latest"), f"{name}: {image} is not pinned"
    assert compose["services"]["risingwave"]["image"].endswith(":v2.7.0"), "the models need RisingWave >= 2.7.0"


def test_every_service_has_a_health_check_and_data_lives_in_named_volumes(compose):
    for name, service in compose["services"].items():
        assert service["healthcheck"]["test"], name
    named = set(compose["volumes"])
    used = {volume.split(":")[0] for service in compose["services"].values() for volume in service.get("volumes", [])
            if not volume.startswith((".", "/"))}
    assert used == named == {"risingwave-data", "grafana-data"}


def test_risingwave_is_where_profiles_yml_and_deploy_look(compose, monkeypatch):
    for suffix in ("HOST", "PORT", "USER", "DATABASE"):
        monkeypatch.delenv(f"SECMON_RISINGWAVE_{suffix}", raising=False)
    risingwave = deploy.RisingWave.from_environment()
    assert (risingwave.host, str(risingwave.port), risingwave.user, risingwave.database) == tuple(
        profile_default(f"SECMON_RISINGWAVE_{suffix}") for suffix in ("HOST", "PORT", "USER", "DATABASE"))
    assert risingwave.host == "localhost" and risingwave.port in published_ports(compose["services"]["risingwave"])


def test_one_kafka_address_serves_the_host_and_risingwave(compose):
    """WarpStream advertises localhost:9092 inside RisingWave's network namespace, whose port the
    host reaches: the dbt source default and the producer's address are the same."""
    warpstream, risingwave = compose["services"]["warpstream"], compose["services"]["risingwave"]
    assert warpstream["network_mode"] == "service:risingwave"
    command = warpstream["command"]
    assert command[0] == "playground"
    assert command[command.index("-advertiseHostnameCustom") + 1] == "localhost"
    assert 9092 in published_ports(risingwave)
    project = yaml.safe_load((settings.PROJECT_DIR / "dbt_project.yml").read_text())
    assert "'localhost:9092'" in project["vars"]["kafka_bootstrap_servers"]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", raising=False)
        patch.delenv(settings.ENV_BOOTSTRAP, raising=False)
        assert deploy.source_bootstrap_servers() == "localhost:9092"


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


URL = os.environ.get("SECMON_RISINGWAVE_URL")


@pytest.mark.integration
@pytest.mark.skipif(not URL, reason="SECMON_RISINGWAVE_URL is not set: no RisingWave to deploy to (RisingWave "
                                    "cannot run here; `make demo-docker` brings one up with deploy/docker-compose.yml)")
def test_deploy_is_idempotent_and_the_grafana_user_only_reads(monkeypatch):
    parsed = urlparse(URL)
    monkeypatch.setenv("SECMON_RISINGWAVE_HOST", parsed.hostname or "localhost")
    monkeypatch.setenv("SECMON_RISINGWAVE_PORT", str(parsed.port or 4566))
    monkeypatch.setenv("SECMON_RISINGWAVE_USER", parsed.username or "root")
    monkeypatch.setenv(deploy.ENV_GRAFANA_DB_PASSWORD, "reader-secret")
    from secmon.grafana.client import GrafanaClient

    grafana = None
    if os.environ.get("GRAFANA_URL"):
        grafana = GrafanaClient(os.environ["GRAFANA_URL"], os.environ.get("GRAFANA_TOKEN"),
                                os.environ.get("GRAFANA_USER"), os.environ.get("GRAFANA_PASSWORD"))
    risingwave = deploy.RisingWave.from_environment()
    deploy.deploy_risingwave(risingwave, grafana, panels.RISINGWAVE_DATASOURCE_UID, lambda step: None)
    second = deploy.deploy_risingwave(risingwave, grafana, panels.RISINGWAVE_DATASOURCE_UID, lambda step: None)
    assert all(step.result.startswith("unchanged") for step in second if step.what.startswith("Grafana "))
    reader = psycopg2.connect(host=risingwave.host, port=risingwave.port, user=deploy.GRAFANA_DB_USER,
                              password="reader-secret", dbname=risingwave.database)
    reader.autocommit = True
    with reader.cursor() as cur:
        cur.execute("select count(*) from security_alerts")
        with pytest.raises(psycopg2.Error):
            cur.execute("create table grafana_must_not_write (x int)")
    reader.close()
