"""`secmon dashboards push` against a local HTTP server that checks each request's shape the way
Grafana's API does; and against a real Grafana when GRAFANA_URL is set."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from test_dashboards import error_lines, schema_validator

from secmon.cli import cli
from secmon.errors import SecmonError
from secmon.grafana import alert_rules, dashboards, panels
from secmon.grafana.client import GrafanaClient, push_all

TOKEN = "glsa_test_token"
RULES_PATH = "/api/v1/provisioning/alert-rules"


class FakeGrafana(ThreadingHTTPServer):
    """Grafana's folder, dashboard and alert-rule provisioning endpoints, in memory, strict about input."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GrafanaHandler)
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        self.rules: dict[str, dict] = {}
        self.writes: list[tuple[str, str]] = []
        self.dashboard_schema = schema_validator("dashboard.jsonschema.json")
        self.rule_schema = schema_validator("alerting.jsonschema.json", "Rule")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class GrafanaHandler(BaseHTTPRequestHandler):
    server: FakeGrafana

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, {"message": "invalid API key"})
            return False
        return True

    def _body(self) -> dict:
        assert self.headers.get("Content-Type") == "application/json"
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self):
        if not self._authorised():
            return
        grafana = self.server
        if self.path.startswith("/api/folders/"):
            folder = grafana.folders.get(self.path.rsplit("/", 1)[1])
            return self._answer(200, folder) if folder else self._answer(404, {"message": "folder not found"})
        if self.path.startswith("/api/dashboards/uid/"):
            stored = grafana.dashboards.get(self.path.rsplit("/", 1)[1])
            if stored is None:
                return self._answer(404, {"message": "Dashboard not found"})
            return self._answer(200, {"dashboard": stored, "meta": {"url": f"/d/{stored['uid']}"}})
        if self.path.startswith(RULES_PATH + "/"):
            rule = grafana.rules.get(self.path.rsplit("/", 1)[1])
            # Grafana answers with fields of its own as well.
            return self._answer(200, {**rule, "id": 7, "updated": "2026-11-28T10:00:00Z", "provenance": ""}) if rule \
                else self._answer(404, {"message": "rule not found"})
        self._answer(404, {"message": "not found"})

    def do_POST(self):
        if not self._authorised():
            return
        grafana, body = self.server, self._body()
        grafana.writes.append(("POST", self.path))
        if self.path == "/api/folders":
            assert set(body) == {"uid", "title"}
            if body["uid"] in grafana.folders:
                return self._answer(409, {"message": "a folder with the same uid already exists"})
            grafana.folders[body["uid"]] = body
            return self._answer(200, body)
        if self.path == "/api/dashboards/db":
            assert body["overwrite"] is True and body["folderUid"] in grafana.folders
            dashboard = body["dashboard"]
            assert dashboard["id"] is None
            errors = error_lines(grafana.dashboard_schema, {**dashboard, "id": 1})
            if errors:
                return self._answer(400, {"message": "; ".join(errors)})
            previous = grafana.dashboards.get(dashboard["uid"], {}).get("version", 0)
            grafana.dashboards[dashboard["uid"]] = {**dashboard, "id": 1, "version": previous + 1}
            return self._answer(200, {"status": "success", "uid": dashboard["uid"], "url": f"/d/{dashboard['uid']}",
                                      "version": previous + 1})
        if self.path == RULES_PATH:
            return self._store_rule(body, creating=True)
        self._answer(404, {"message": "not found"})

    def do_PUT(self):
        if not self._authorised():
            return
        grafana, body = self.server, self._body()
        grafana.writes.append(("PUT", self.path))
        if self.path.startswith(RULES_PATH + "/"):
            assert body["uid"] == self.path.rsplit("/", 1)[1]
            return self._store_rule(body, creating=False)
        self._answer(404, {"message": "not found"})

    def _store_rule(self, rule: dict, creating: bool) -> None:
        grafana = self.server
        assert self.headers.get("X-Disable-Provenance") == "true"
        errors = error_lines(grafana.rule_schema, rule)
        if errors or rule["folderUID"] not in grafana.folders:
            return self._answer(400, {"message": "; ".join(errors) or "folder not found"})
        if creating == (rule["uid"] in grafana.rules):
            return self._answer(409 if creating else 404, {"message": "rule uid conflict"})
        grafana.rules[rule["uid"]] = rule
        self._answer(201 if creating else 200, rule)


@pytest.fixture
def grafana():
    server = FakeGrafana()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


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
        f"alert rule: {rule['title']}" for rule in alert_rules.rules("f", "d")}
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


@pytest.mark.skipif(not os.environ.get("GRAFANA_URL"),
                    reason="a live Grafana is not available here: set GRAFANA_URL and GRAFANA_TOKEN "
                           "(or GRAFANA_USER/GRAFANA_PASSWORD) to run this against one")
def test_push_to_a_live_grafana():
    client = GrafanaClient(os.environ["GRAFANA_URL"], os.environ.get("GRAFANA_TOKEN"), os.environ.get("GRAFANA_USER"),
                           os.environ.get("GRAFANA_PASSWORD"))
    push_all(client, panels.RISINGWAVE_DATASOURCE_UID)
    assert {change.action for change in push_all(client, panels.RISINGWAVE_DATASOURCE_UID)} == {"unchanged"}
    for uid in ("secmon-website-activity", "secmon-security-detections"):
        stored = client.request("GET", f"/api/dashboards/uid/{uid}")
        assert stored["meta"]["folderUid"] == dashboards.FOLDER_UID
    for rule in alert_rules.rules(dashboards.FOLDER_UID, panels.RISINGWAVE_DATASOURCE_UID):
        assert client.request("GET", f"{RULES_PATH}/{rule['uid']}")["title"] == rule["title"]
