"""`secmon dashboards push` against a local HTTP server that checks each request's shape the way
Grafana's API does; and against a real Grafana when GRAFANA_URL is set."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from fake_grafana import RULES_PATH, TOKEN

from secmon.cli import cli
from secmon.errors import SecmonError
from secmon.grafana import alert_rules, dashboards, panels
from secmon.grafana.client import GrafanaClient, push_all


def actions(changes) -> dict[str, set[str]]:
    summary: dict[str, set[str]] = {}
    for change in changes:
        summary.setdefault(change.action, set()).add(f"{change.kind}: {change.name}")
    return summary


def test_push_creates_everything_then_changes_nothing(grafana):
    client = GrafanaClient(grafana.url, token=TOKEN)
    first = push_all(client, panels.RISINGWAVE_DATASOURCE_UID)
    rules = alert_rules.rules(dashboards.FOLDER_UID, panels.RISINGWAVE_DATASOURCE_UID)
    assert {change.action for change in first} == {"created"}
    assert len(first) == 1 + 2 + len(rules)
    assert set(grafana.dashboards) == {"secmon-website-activity", "secmon-security-detections"}
    assert set(grafana.rules) == {rule["uid"] for rule in rules}
    linked = grafana.rules["secmon-brute-force"]["annotations"]
    assert linked["__dashboardUid__"] == "secmon-security-detections" and int(linked["__panelId__"]) > 0

    writes = len(grafana.writes)
    second = push_all(client, panels.RISINGWAVE_DATASOURCE_UID)
    assert {change.action for change in second} == {"unchanged"}
    assert len(grafana.writes) == writes, "an unchanged push must not write"


def test_push_updates_what_changed(grafana):
    client = GrafanaClient(grafana.url, token=TOKEN)
    push_all(client, panels.RISINGWAVE_DATASOURCE_UID)
    grafana.dashboards["secmon-website-activity"]["title"] = "edited in the UI"
    changes = actions(push_all(client, "another-datasource"))
    assert changes["updated"] == {"dashboard: Website activity"} | {
        f"alert rule: {rule['title']}" for rule in alert_rules.rules("f", "d")
    }
    assert grafana.dashboards["secmon-website-activity"]["title"] == "Website activity"
    assert grafana.dashboards["secmon-website-activity"]["version"] == 2
    assert all(rule["data"][0]["datasourceUid"] == "another-datasource" for rule in grafana.rules.values())


def test_a_wrong_token_is_a_one_line_error(grafana):
    with pytest.raises(SecmonError, match=r"^Grafana GET /api/folders/secmon answered 401: .*invalid API key"):
        push_all(GrafanaClient(grafana.url, token="wrong"), panels.RISINGWAVE_DATASOURCE_UID)


def test_an_unreachable_grafana_is_a_one_line_error(grafana):
    url = grafana.url
    grafana.shutdown()
    grafana.server_close()
    with pytest.raises(SecmonError, match=f"^Grafana at {url} is unreachable"):
        push_all(GrafanaClient(url, token=TOKEN, timeout=2), panels.RISINGWAVE_DATASOURCE_UID)


def test_push_needs_credentials():
    with pytest.raises(SecmonError, match="needs credentials"):
        GrafanaClient("http://127.0.0.1:1")


def test_cli_push_prints_what_it_did(grafana):
    result = CliRunner().invoke(cli, ["dashboards", "push", "--grafana-url", grafana.url, "--token", TOKEN])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "Website activity" in result.output


@pytest.mark.skipif(
    not os.environ.get("GRAFANA_URL"),
    reason="a live Grafana is not available here: set GRAFANA_URL and GRAFANA_TOKEN "
    "(or GRAFANA_USER/GRAFANA_PASSWORD) to run this against one",
)
def test_push_to_a_live_grafana():
    client = GrafanaClient(
        os.environ["GRAFANA_URL"],
        os.environ.get("GRAFANA_TOKEN"),
        os.environ.get("GRAFANA_USER"),
        os.environ.get("GRAFANA_PASSWORD"),
    )
    push_all(client, panels.RISINGWAVE_DATASOURCE_UID)
    assert {change.action for change in push_all(client, panels.RISINGWAVE_DATASOURCE_UID)} == {"unchanged"}
    for uid in ("secmon-website-activity", "secmon-security-detections"):
        stored = client.request("GET", f"/api/dashboards/uid/{uid}")
        assert stored["meta"]["folderUid"] == dashboards.FOLDER_UID
    for rule in alert_rules.rules(dashboards.FOLDER_UID, panels.RISINGWAVE_DATASOURCE_UID):
        assert client.request("GET", f"{RULES_PATH}/{rule['uid']}")["title"] == rule["title"]
