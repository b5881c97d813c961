"""A local Grafana test server: Grafana's folder, dashboard, alert-rule, datasource and query
endpoints in memory, strict about input the way Grafana's API is. Queries run on a real PostgreSQL."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
from support import error_lines, schema_validator

TOKEN = "glsa_test_token"
RULES_PATH = "/api/v1/provisioning/alert-rules"
CONTACT_POINTS_PATH = "/api/v1/provisioning/contact-points"
TEMPLATES_PATH = "/api/v1/provisioning/templates/"
POLICIES_PATH = "/api/v1/provisioning/policies"


class FakeGrafana(ThreadingHTTPServer):
    """Grafana's folder, dashboard and alert-rule provisioning endpoints, in memory, strict about input."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GrafanaHandler)
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        self.rules: dict[str, dict] = {}
        # uid → the datasource as Grafana shows it, and the PostgreSQL URL its queries run on.
        self.datasources: dict[str, tuple[dict, str]] = {}
        self.writes: list[tuple[str, str]] = []
        self.contact_points: dict[str, dict] = {}
        self.templates: dict[str, str] = {}
        self.policy: dict = {"receiver": "grafana-default-email", "group_by": ["grafana_folder", "alertname"]}
        self.dashboard_schema = schema_validator("dashboard.jsonschema.json")
        self.rule_schema = schema_validator("alerting.jsonschema.json", "Rule")
        self.contact_point_schema = schema_validator("alerting.jsonschema.json", "ContactPoint")
        self.template_schema = schema_validator("alerting.jsonschema.json", "NotificationTemplate")
        self.policy_schema = schema_validator("alerting.jsonschema.json", "NotificationPolicy")

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
        if self.path == RULES_PATH:
            return self._answer(200, list(grafana.rules.values()))
        if self.path == CONTACT_POINTS_PATH:
            return self._answer(200, list(grafana.contact_points.values()))
        if self.path.startswith(TEMPLATES_PATH):
            name = self.path.removeprefix(TEMPLATES_PATH)
            if name not in grafana.templates:
                return self._answer(404, {"message": "template not found"})
            return self._answer(200, {"name": name, "template": grafana.templates[name], "provenance": ""})
        if self.path == POLICIES_PATH:
            return self._answer(200, grafana.policy)
        if self.path.startswith("/api/datasources/uid/"):
            datasource = grafana.datasources.get(self.path.rsplit("/", 1)[1])
            return self._answer(200, datasource[0]) if datasource else self._answer(404, {"message": "not found"})
        if self.path.startswith(RULES_PATH + "/"):
            rule = grafana.rules.get(self.path.rsplit("/", 1)[1])
            # Grafana answers with fields of its own as well.
            return (
                self._answer(200, {**rule, "id": 7, "updated": "2026-11-28T10:00:00Z", "provenance": ""})
                if rule
                else self._answer(404, {"message": "rule not found"})
            )
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
            return self._answer(
                200,
                {
                    "status": "success",
                    "uid": dashboard["uid"],
                    "url": f"/d/{dashboard['uid']}",
                    "version": previous + 1,
                },
            )
        if self.path == RULES_PATH:
            return self._store_rule(body, creating=True)
        if self.path == "/api/ds/query":
            return self._query(body)
        if self.path == CONTACT_POINTS_PATH:
            return self._store_contact_point(body, creating=True)
        self._answer(404, {"message": "not found"})

    def _query(self, body: dict) -> None:
        """Each query runs on its datasource's real PostgreSQL; failures come back per query, as Grafana's do."""
        results = {}
        for query in body["queries"]:
            datasource = self.server.datasources.get(query["datasource"]["uid"])
            if datasource is None:
                return self._answer(404, {"message": "data source not found"})
            try:
                with psycopg2.connect(datasource[1]) as conn, conn.cursor() as cur:
                    cur.execute(query["rawSql"])
                    rows = cur.fetchall()
                conn.close()
                results[query["refId"]] = {"status": 200, "frames": [{"data": {"values": list(zip(*rows))}}]}
            except psycopg2.Error as exc:
                results[query["refId"]] = {"status": 400, "error": str(exc).strip()}
        self._answer(200, {"results": results})

    def do_PUT(self):
        if not self._authorised():
            return
        grafana, body = self.server, self._body()
        grafana.writes.append(("PUT", self.path))
        if self.path.startswith(RULES_PATH + "/"):
            assert body["uid"] == self.path.rsplit("/", 1)[1]
            return self._store_rule(body, creating=False)
        if self.path.startswith(CONTACT_POINTS_PATH + "/"):
            assert body["uid"] == self.path.rsplit("/", 1)[1]
            return self._store_contact_point(body, creating=False)
        if self.path.startswith(TEMPLATES_PATH):
            name = self.path.removeprefix(TEMPLATES_PATH)
            if errors := error_lines(grafana.template_schema, {"name": name, **body}):
                return self._answer(400, {"message": "; ".join(errors)})
            grafana.templates[name] = body["template"]
            return self._answer(202, {"name": name, **body})
        if self.path == POLICIES_PATH:
            receivers = {point["name"] for point in grafana.contact_points.values()}
            named = {body.get("receiver")} | {route.get("receiver") for route in body.get("routes", [])}
            errors = error_lines(grafana.policy_schema, body)
            if errors or not named <= receivers:
                return self._answer(400, {"message": "; ".join(errors) or f"unknown receivers {named - receivers}"})
            grafana.policy = body
            return self._answer(202, {"message": "policies updated"})
        self._answer(404, {"message": "not found"})

    def _store_contact_point(self, point: dict, creating: bool) -> None:
        grafana = self.server
        if errors := error_lines(grafana.contact_point_schema, point):
            return self._answer(400, {"message": "; ".join(errors)})
        if creating == (point["uid"] in grafana.contact_points):
            return self._answer(409 if creating else 404, {"message": "contact point uid conflict"})
        grafana.contact_points[point["uid"]] = point
        self._answer(202, point)

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
