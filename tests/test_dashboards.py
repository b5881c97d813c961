"""Dashboards and alert rules as code: schema validity, determinism, coverage of the views, and
every panel's query run against the local engine holding real traffic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlglot
import yaml
from click.testing import CliRunner
from conftest import DASHBOARD_SCHEMA as SCHEMA
from sqlglot import exp
from support import error_lines, schema_validator

from secmon import settings
from secmon.cli import cli
from secmon.engine.ingest import LANDING_TABLE, REQUESTS_VIEW
from secmon.errors import SecmonError
from secmon.grafana import alert_rules, dashboards, panels
from secmon.grafana.preview import run_queries
from secmon.manifest import HIGH_SEVERITIES, detections, models

START = datetime(2024, 1, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def all_dashboards() -> dict[str, dict]:
    return dashboards.load_all()


def all_panels(all_dashboards) -> list[tuple[str, dashboards.Panel]]:
    return [(uid, panel) for uid, dashboard in all_dashboards.items() for panel in dashboards.panels_of(dashboard)]


# --- the generated JSON ---------------------------------------------------------------------------


def test_every_dashboard_validates_against_grafanas_schema(all_dashboards):
    validator = schema_validator("dashboard.jsonschema.json")
    assert len(all_dashboards) == len(dashboards.dashboard_files()) >= 2
    for uid, dashboard in all_dashboards.items():
        assert error_lines(validator, dashboard) == [], uid


def test_normalisation_is_what_makes_grafanalib_output_valid():
    """The raw grafanalib JSON fails the schema on legacy keys; the normalised JSON is that JSON minus them."""
    import runpy

    from grafanalib._gen import DashboardEncoder

    path = dashboards.DASHBOARDS_DIR / "website_activity.dashboard.py"
    raw = json.loads(
        json.dumps(runpy.run_path(str(path))["dashboard"].auto_panel_ids().to_json_data(), cls=DashboardEncoder)
    )
    messages = " ".join(error_lines(schema_validator("dashboard.jsonschema.json"), raw))
    assert "sharedCrosshair" in messages and "None is not of type" in messages
    normalised = dashboards.load(path)
    assert [panel["targets"] for panel in normalised["panels"]] == [panel["targets"] for panel in raw["panels"]]
    assert [panel["gridPos"] for panel in normalised["panels"]] == [panel["gridPos"] for panel in raw["panels"]]


def test_panels_follow_the_conventions(all_dashboards):
    """Unique ids, the datasource variable, time series on `$__timeFilter` ordered by time, others as tables."""
    for uid, dashboard in all_dashboards.items():
        assert [variable["name"] for variable in dashboard["templating"]["list"]] == ["datasource"]
        assert dashboard["templating"]["list"][0]["query"] == panels.DATASOURCE_TYPE
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), uid
        for panel in dashboard["panels"]:
            assert panel["datasource"] == {"type": panels.DATASOURCE_TYPE, "uid": "${datasource}"}
            target = panel["targets"][0]
            assert "$__timeFilter(" in target["rawSql"], panel["title"]
            if panel["type"] == "timeseries":
                assert target["format"] == "time_series"
                assert "order by window_start" in target["rawSql"], panel["title"]
            else:
                assert target["format"] == "table", panel["title"]
            if panel["type"] == "stat":
                steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
                assert steps[0] == {"color": "green", "value": None} and steps[1]["value"] == 1


def test_panels_do_not_overlap(all_dashboards):
    for uid, dashboard in all_dashboards.items():
        cells = {}
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    assert (x, y) not in cells, f"{uid}: {panel['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = panel["title"]


def test_the_activity_dashboard_starts_with_the_seeds_six_panels(all_dashboards):
    activity = all_dashboards["secmon-website-activity"]
    assert [(panel["type"], panel["title"]) for panel in activity["panels"]][:6] == [
        ("table", "Raw events"),
        ("barchart", "Referrer activity"),
        ("table", "User metrics"),
        ("timeseries", "Security levels"),
        ("barchart", "Top five actions"),
        ("piechart", "Status codes"),
    ]


def test_one_stat_per_detection(all_dashboards):
    security = all_dashboards["secmon-security-detections"]
    stats = [panel for panel in security["panels"] if panel["type"] == "stat"]
    detection_files = {path.stem for path in (settings.PROJECT_DIR / "models" / "detections").glob("*.sql")}
    assert {detection.name for detection in detections()} == detection_files
    assert len(stats) == len(detection_files)
    assert {name: uid for name, (uid, _) in alert_rules.detection_panels(all_dashboards).items()} == {
        name: "secmon-security-detections" for name in detection_files
    }


def test_every_view_appears_on_some_panel(all_dashboards):
    # The local target's models (the RisingWave-only sink is not a view), but the source and the plain
    # view of it: a panel on a Kafka source would read the whole topic on each refresh, so panels read
    # newest_events instead.
    raw = {LANDING_TABLE, REQUESTS_VIEW}
    views = set(models()) - raw
    read = set()
    for _, panel in all_panels(all_dashboards):
        sql = dashboards.expand_macros(panel.sql, START, START + timedelta(hours=1))
        read |= {table.name for table in sqlglot.parse_one(sql, read="postgres").find_all(exp.Table)}
    assert sorted(views - read) == [], "views on no panel"
    assert not raw & read, "a panel reads the Kafka source"
    assert read <= views, f"panels read tables that are not models: {sorted(read - views)}"


def test_build_is_byte_identical_and_complete(tmp_path):
    first = {path.relative_to(tmp_path / "a"): path.read_bytes() for path in dashboards.build(tmp_path / "a")}
    second = {path.relative_to(tmp_path / "b"): path.read_bytes() for path in dashboards.build(tmp_path / "b")}
    assert first == second
    assert sorted(map(str, first)) == [
        "dashboards/secmon-security-detections.json",
        "dashboards/secmon-website-activity.json",
        "provisioning/alerting/secmon-notifications.yaml",
        "provisioning/alerting/secmon.yaml",
        "provisioning/dashboards/secmon.yaml",
        "provisioning/datasources/secmon.yaml",
    ]


def test_provisioning_files_agree_with_the_dashboards(tmp_path):
    dashboards.build(tmp_path)
    sources = yaml.safe_load((tmp_path / "provisioning/datasources/secmon.yaml").read_text())["datasources"]
    assert {(source["uid"], source["type"]) for source in sources} == {
        (panels.RISINGWAVE_DATASOURCE_UID, panels.DATASOURCE_TYPE),
        (panels.LOCAL_DATASOURCE_UID, panels.DATASOURCE_TYPE),
    }
    assert all(
        value.startswith("${")
        for source in sources
        for value in (source["url"], source["user"], source["secureJsonData"]["password"])
    )
    provider = yaml.safe_load((tmp_path / "provisioning/dashboards/secmon.yaml").read_text())["providers"][0]
    assert provider["folderUid"] == dashboards.FOLDER_UID and provider["type"] == "file"
    groups = yaml.safe_load((tmp_path / "provisioning/alerting/secmon.yaml").read_text())["groups"]
    assert [rule["uid"] for rule in groups[0]["rules"]] == [rule["uid"] for rule in alert_rules.rules("f", "d")]


def test_alert_rules_cover_exactly_the_high_severity_detections_and_validate():
    rules = alert_rules.rules(dashboards.FOLDER_UID, panels.RISINGWAVE_DATASOURCE_UID)
    expected = {detection.name for detection in detections() if detection.severity in HIGH_SEVERITIES}
    assert {rule["labels"]["detection"] for rule in rules} == expected
    assert "account_takeover" in expected and "bad_user_agent" not in expected
    validator = schema_validator("alerting.jsonschema.json", "Rule")
    for rule in rules:
        assert error_lines(validator, rule) == [], rule["uid"]
        assert len(rule["uid"]) <= 40 and rule["data"][0]["datasourceUid"] == panels.RISINGWAVE_DATASOURCE_UID
    assert len({rule["uid"] for rule in rules}) == len(rules)


# --- macros and time ranges -----------------------------------------------------------------------


def test_expand_macros_as_grafana_does():
    end = START + timedelta(minutes=5)
    assert (
        dashboards.expand_macros("where $__timeFilter(window_start) and t < $__timeTo()", START, end)
        == "where window_start BETWEEN '2024-01-25T12:00:00Z' AND '2024-01-25T12:05:00Z' and t < '2024-01-25T12:05:00Z'"
    )
    with pytest.raises(SecmonError, match="macro this project does not expand"):
        dashboards.expand_macros("select $__timeGroup(time, '1m')", START, end)


def test_resolve_time():
    assert dashboards.resolve_time("now", START) == START
    assert dashboards.resolve_time("now-90m", START) == START - timedelta(minutes=90)
    assert dashboards.resolve_time("2024-01-25T11:00:00", START) == START - timedelta(hours=1)
    with pytest.raises(SecmonError, match="neither now"):
        dashboards.resolve_time("yesterday", START)


def test_a_dashboard_file_without_a_dashboard_is_a_clear_error(tmp_path):
    (tmp_path / "broken.dashboard.py").write_text("title = 'no dashboard here'\n")
    with pytest.raises(SecmonError, match="broken.dashboard.py: defines no `dashboard`"):
        dashboards.load_all(tmp_path)


def test_cli_build_writes_the_files(tmp_path):
    result = CliRunner().invoke(cli, ["dashboards", "build", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "dashboards/secmon-website-activity.json").read_text())["title"] == "Website activity"


# --- every panel's query on the local engine -------------------------------------------------------


def _is_number(value) -> bool:
    from decimal import Decimal

    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def test_every_panel_query_returns_the_columns_its_panel_needs(all_dashboards, dashboard_data):
    pg_url, start, end = dashboard_data
    for uid, dashboard in all_dashboards.items():
        results = run_queries(dashboard, pg_url, SCHEMA, start, end)
        for panel in dashboards.panels_of(dashboard):
            result = results[panel.id]
            where = f"{uid} / {panel.title}"
            assert result.error is None, f"{where}: {result.error}"
            assert result.rows, f"{where}: no rows"
            numbers = [i for i in range(len(result.columns)) if all(_is_number(row[i]) for row in result.rows)]
            texts = [i for i in range(len(result.columns)) if all(isinstance(row[i], str) for row in result.rows)]
            if panel.type == "timeseries":
                times = [row[result.columns.index("time")] for row in result.rows]
                assert all(isinstance(moment, datetime) for moment in times), where
                assert times == sorted(times), f"{where}: not ordered by time"
                assert numbers, f"{where}: no numeric column"
            elif panel.type in ("barchart", "piechart"):
                assert texts and numbers, f"{where}: needs a text column and a numeric one"
            elif panel.type == "stat":
                assert len(result.rows) == 1 and numbers == [0], where
        stats = [results[panel.id].rows[0][0] for panel in dashboards.panels_of(dashboard) if panel.type == "stat"]
        if stats:
            assert all(count >= 1 for count in stats), "every detection should have fired on the attack mix"


def test_alert_rule_queries_run_on_the_local_engine(dashboard_data):
    """Each rule finds its detection's alerts once the window has ended (30-minute windows included):
    one row per entity, whose string columns (entity, country, network, example) Grafana makes labels."""
    import psycopg2

    pg_url, start, _ = dashboard_data
    end = start + timedelta(minutes=alert_rules.LOOKBACK_SECONDS // 60 + 30)
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"set search_path to {SCHEMA}")
        for rule in alert_rules.rules("f", "d"):
            cur.execute(dashboards.expand_macros(rule["data"][0]["model"]["rawSql"], start, end))
            rows = cur.fetchall()
            assert rows and all(count >= 1 for *_labels, count in rows), rule["uid"]
            assert all(isinstance(label, str) for row in rows for label in row[:-1]), rule["uid"]
    conn.close()


# --- layout and the manifest ----------------------------------------------------------------------


def test_panels_place_themselves_left_to_right_and_wrap():
    placed = panels.flow(
        [panels.stat(f"s{index}", "select 1", "red") for index in range(7)]
        + [panels.table("wide", "select 1", width=24), panels.table("half", "select 1", height=9)]
    )
    assert [(panel.gridPos.x, panel.gridPos.y) for panel in placed] == [
        (0, 0),
        (4, 0),
        (8, 0),
        (12, 0),
        (16, 0),
        (20, 0),
        (0, 4),
        (0, 8),
        (0, 16),
    ]


def test_a_detection_without_severity_is_a_one_line_error_naming_its_yml():
    from secmon.manifest import Model, _detection

    model = Model("my_detection", "", ("detection",), {"entity": "ip"}, (), (), True, True, "models/detections/x.yml")
    with pytest.raises(SecmonError) as error:
        _detection(model)
    assert str(error.value) == (
        "models/detections/x.yml: detection my_detection needs config.meta.severity "
        "(low, medium, high, critical) in its entry"
    )


# --- the drill-down from an alert to the requests behind it (issue 40) ----------------------------


def _requests_behind_alert_sql(all_dashboards, alert_id: str) -> str:
    """The query the Latest alerts table's alert_id link opens in Explore, as Grafana fills it for `alert_id`."""
    from urllib.parse import parse_qs, quote, urlsplit

    table = next(
        panel for panel in all_dashboards["secmon-security-detections"]["panels"] if panel["title"] == "Latest alerts"
    )
    (link,) = table["fieldConfig"]["defaults"]["links"]
    assert link["title"] == "Requests behind the alert"
    url = link["url"].replace("${__data.fields.alert_id:percentencode}", quote(alert_id, safe=""))
    assert urlsplit(url).path == "/explore"
    (pane,) = json.loads(parse_qs(urlsplit(url).query)["panes"][0]).values()
    assert pane["datasource"] == "${datasource}" and pane["range"] == {"from": "${__from}", "to": "${__to}"}
    (query,) = pane["queries"]
    assert query["format"] == "table" and query["rawQuery"]
    return query["rawSql"]


def test_each_alert_links_to_the_requests_secmon_explain_lists(all_dashboards, dashboard_data):
    """Followed for every alert on an IP or account, the link shows the rows `secmon explain` reads, in order."""
    import psycopg2

    from secmon.explain import read_alert, read_requests

    pg_url, start, end = dashboard_data
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"select alert_id from {SCHEMA}.security_alerts where entity_type in ('ip', 'username')")
        alert_ids = sorted(alert_id for (alert_id,) in cur.fetchall())
        with_requests = 0
        for alert_id in alert_ids:
            explained, count, _has_tags = read_requests(conn, SCHEMA, read_alert(conn, SCHEMA, alert_id))
            cur.execute(f"set search_path to {SCHEMA}")  # explain's reads end their transaction
            cur.execute(dashboards.expand_macros(_requests_behind_alert_sql(all_dashboards, alert_id), start, end))
            shown = [row[:6] for row in cur.fetchall()]
            conn.rollback()
            if count <= len(explained):  # all of them: requests of one instant come in either order
                assert sorted(shown, key=repr) == sorted(map(tuple, explained), key=repr), alert_id
            assert len(shown) == len(explained), alert_id
            with_requests += bool(shown)
        assert with_requests == len(alert_ids) > 0
    conn.close()
