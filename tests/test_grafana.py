"""`secmon dashboards push` against a local HTTP server that checks each request's shape the way
Grafana's API does; and against a real Grafana when GRAFANA_URL is set."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from fake_grafana import RULES_PATH, TOKEN

from secmon.cli import cli
from secmon.errors import SecmonError
from secmon.grafana import alert_rules, dashboards, notifications, panels
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
    points = notifications.contact_points()
    assert actions(first) == {
        "created": {"folder: Security monitoring", "dashboard: Website activity", "dashboard: Security detections"}
        | {f"alert rule: {rule['title']}" for rule in rules}
        | {"notification template: secmon"}
        | {f"contact point: secmon ({point['type']})" for point in points},
        "updated": {"notification policy: secmon"},  # Grafana's own default tree is replaced
    }
    assert set(grafana.dashboards) == {"secmon-website-activity", "secmon-security-detections"}
    assert set(grafana.rules) == {rule["uid"] for rule in rules}
    assert {point["type"] for point in grafana.contact_points.values()} == {"webhook", "email"}
    assert grafana.policy["routes"][0]["object_matchers"] == [["source", "=", "secmon"]]
    assert all(rule["labels"]["source"] == "secmon" for rule in grafana.rules.values())  # the route matches them
    message = grafana.templates["secmon"]
    assert all(f"{{{{ .Labels.{label} }}}}" in message for label in ("entity", "country", "network", "example"))
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


def test_the_notifications_file_validates_against_grafanas_schema(tmp_path):
    """`secmon dashboards build` writes the contact points, the policy and the template for file
    provisioning: each object is what Grafana's alerting schema describes."""
    import yaml
    from support import error_lines, schema_validator

    dashboards.build(tmp_path)
    document = yaml.safe_load((tmp_path / "provisioning" / "alerting" / "secmon-notifications.yaml").read_text())
    (contact_point,) = document["contactPoints"]
    receivers = [{"name": contact_point["name"], **receiver} for receiver in contact_point["receivers"]]
    checks = [("ContactPoint", receiver) for receiver in receivers]
    (policy,), (template,) = document["policies"], document["templates"]
    checks += [("NotificationPolicy", policy), ("NotificationTemplate", template)]
    for definition, instance in checks:
        instance = {key: value for key, value in instance.items() if key != "orgId"}  # the file's, not the API's
        assert error_lines(schema_validator("alerting.jsonschema.json", definition), instance) == [], definition
    assert {receiver["type"] for receiver in receivers} == {"webhook", "email"}
    assert all('template "secmon.message"' in str(receiver["settings"]) for receiver in receivers)
