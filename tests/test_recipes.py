"""docs/extending.md's "Add a view" and "Add a detection" recipes, followed literally in a copy of the
project: each code block of the recipe goes where its fence says, nothing else is edited, and then
dbt, the dashboards, the alert rules, the demo summary and the view and detection checks of this
suite all take the new models in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import psycopg2
import pytest
import yaml
from conftest import DASHBOARD_TOPIC
from support import recipe, run_pytest

from secmon import settings
from secmon.stack import postgres

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "dashboards")
SCHEMA = "recipes"
NEW_VIEW, NEW_DETECTION, NEW_FAMILY_DETECTION = "url_hits", "server_error_burst", "ssrf_probing"
GRAFANA_SCHEMA = Path(__file__).parent / "grafana-schema" / "dashboard.jsonschema.json"


def follow(project: Path, steps: list[tuple[str, str, str]]) -> None:
    for action, path, text in steps:
        target = project / path
        if action == "file":
            assert not target.exists(), f"the recipe creates {path}, which exists"
            target.write_text(text)
        elif action == "append":
            target.write_text(target.read_text() + text)
        else:
            source = target.read_text()
            end_of_panels = source.rindex("    ],\n)")
            target.write_text(source[:end_of_panels] + text + source[end_of_panels:])


@pytest.fixture(scope="module")
def project(tmp_path_factory, endpoints, dashboard_data) -> Path:
    """A copy of the project with both recipes followed, and a schema of its own holding the dashboard
    fixture's twelve minutes of traffic."""
    from secmon.engine.ingest import Ingester, ensure_landing_table

    copy = tmp_path_factory.mktemp("recipes") / "project"
    copy.mkdir()
    for name in PROJECT_FILES:
        source = settings.PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name)
    for section in ("Add a view", "Add a detection"):
        steps = recipe(section)
        assert steps, f"docs section {section!r} has no recipe blocks"
        follow(copy, steps)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENV_PG_SCHEMA, SCHEMA)
        postgres.ensure_database(endpoints.pg_url, settings.PG_DATABASE, SCHEMA)
        ensure_landing_table(endpoints)
        ingester = Ingester(endpoints, topic=DASHBOARD_TOPIC, schema=SCHEMA)
        ingester.drain()
        ingester.close()
    return copy


def secmon(project: Path, endpoints, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **endpoints.environment(), "SECMON_PROJECT_DIR": str(project), settings.ENV_PG_SCHEMA: SCHEMA}
    return subprocess.run(
        [sys.executable, "-c", "from secmon.cli import cli; cli()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_recipes_touch_only_their_files():
    view_files = {path for _, path, _ in recipe("Add a view")}
    detection_files = {path for _, path, _ in recipe("Add a detection")}
    assert view_files == {
        f"models/metrics/{NEW_VIEW}.sql",
        "models/metrics/_metrics__models.yml",
        "dashboards/website_activity.dashboard.py",
    }
    detections = (NEW_DETECTION, NEW_FAMILY_DETECTION)
    assert detection_files == {f"models/detections/{name}.{suffix}" for name in detections for suffix in ("sql", "yml")}


def test_dbt_builds_and_tests_both_and_the_detection_fills_security_alerts(project, endpoints):
    # A low threshold, as the recipe says thresholds are set: normal traffic then raises the alert.
    result = secmon(project, endpoints, "dbt", "build", "--vars", json.dumps({"server_error_burst_min_errors": 1}))
    assert result.returncode == 0, result.stdout[-3000:]
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select count(*) from {SCHEMA}.{NEW_VIEW}")
        assert cur.fetchone()[0] > 0
        cur.execute(
            f"select count(*), count(distinct alert_id) from {SCHEMA}.{settings.ALERTS_TABLE} where detection = %s",
            (NEW_DETECTION,),
        )
        alerts, distinct = cur.fetchone()
        # One alert per quiet period: the detection's rows of one quiet period share an alert_id.
        cur.execute(f"select count(distinct alert_id) from {SCHEMA}.{NEW_DETECTION}")
        assert alerts == distinct == cur.fetchone()[0] > 0
    conn.close()


def test_the_dashboards_show_both_and_the_detection_gets_its_alert_rule(project, endpoints, tmp_path):
    result = secmon(project, endpoints, "dashboards", "build", "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    validator = jsonschema.Draft7Validator(json.loads(GRAFANA_SCHEMA.read_text()))
    built = {path.stem: json.loads(path.read_text()) for path in (tmp_path / "dashboards").glob("*.json")}
    for uid, dashboard in built.items():
        assert not list(validator.iter_errors(dashboard)), uid
    queries = {
        panel["title"]: panel["targets"][0]["rawSql"] for dashboard in built.values() for panel in dashboard["panels"]
    }
    assert any(f"from {NEW_VIEW}\n" in sql for sql in queries.values())
    stat = queries["Server error burst"]
    assert f"from {NEW_DETECTION} " in stat
    rules = yaml.safe_load((tmp_path / "provisioning/alerting/secmon.yaml").read_text())["groups"][0]["rules"]
    rule = next(rule for rule in rules if rule["labels"]["detection"] == NEW_DETECTION)
    assert rule["labels"]["severity"] == "high" and rule["annotations"]["__panelId__"]


def test_the_demo_summary_lists_the_new_view(project, endpoints):
    result = secmon(project, endpoints, "summary", "--rows", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{NEW_VIEW} — window" in result.stdout


def test_the_suites_view_and_detection_checks_pass_on_the_copy(project):
    env = {**os.environ, "SECMON_PROJECT_DIR": str(project)}
    result = run_pytest("-m", "not integration", "tests/test_dashboards.py", "tests/test_models.py", env=env)
    assert result.returncode == 0, result.stdout[-5000:]
    assert " passed" in result.stdout
