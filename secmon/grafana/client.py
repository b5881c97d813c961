"""`secmon dashboards push`: dashboards, alert rules and notifications into a running Grafana, idempotently.

Uses Grafana's HTTP API: the folder API, `POST /api/dashboards/db` with overwrite, and the
alerting provisioning API for rules, contact points, the notification template and the policy
tree (created when missing, replaced when present).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import NamedTuple

from secmon.errors import SecmonError


class Change(NamedTuple):
    kind: str  # folder | dashboard | alert rule
    name: str
    action: str  # created | updated | unchanged
    url: str = ""


CONTACT_POINTS_PATH = "/api/v1/provisioning/contact-points"
POLICIES_PATH = "/api/v1/provisioning/policies"


class GrafanaClient:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 15,
    ):
        if not token and not user:
            raise SecmonError("Grafana needs credentials: --token (a service account token) or --user/--password")
        self.url = url.rstrip("/")
        self.timeout = timeout
        if token:
            self._authorization = f"Bearer {token}"
        else:
            self._authorization = "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()

    def request(self, method: str, path: str, body: dict | None = None, missing_ok: bool = False):
        """The JSON answer; None for a 404 when `missing_ok`; SecmonError for any other failure."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": self._authorization,
                "Accept": "application/json",
                "Content-Type": "application/json",
                # Rules stay editable in Grafana's UI, as dashboards pushed with overwrite are.
                "X-Disable-Provenance": "true",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            detail = exc.read().decode(errors="replace").strip().replace("\n", " ")[:300]
            raise SecmonError(f"Grafana {method} {path} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SecmonError(f"Grafana at {self.url} is unreachable: {reason}") from None
        return json.loads(raw) if raw else {}

    def ensure_folder(self, uid: str, title: str) -> Change:
        if self.request("GET", f"/api/folders/{uid}", missing_ok=True) is not None:
            return Change("folder", title, "unchanged")
        self.request("POST", "/api/folders", {"uid": uid, "title": title})
        return Change("folder", title, "created")

    def upload_dashboard(self, dashboard: dict, folder_uid: str) -> Change:
        existing = self.request("GET", f"/api/dashboards/uid/{dashboard['uid']}", missing_ok=True)
        if existing is not None and _same_dashboard(existing.get("dashboard", {}), dashboard):
            return Change("dashboard", dashboard["title"], "unchanged", existing.get("meta", {}).get("url", ""))
        answer = self.request(
            "POST",
            "/api/dashboards/db",
            {
                "dashboard": {**dashboard, "id": None},
                "folderUid": folder_uid,
                "overwrite": True,
                "message": "secmon dashboards push",
            },
        )
        return Change("dashboard", dashboard["title"], "updated" if existing else "created", answer.get("url", ""))

    def upload_rule(self, rule: dict) -> Change:
        path = f"/api/v1/provisioning/alert-rules/{rule['uid']}"
        existing = self.request("GET", path, missing_ok=True)
        if existing is None:
            self.request("POST", "/api/v1/provisioning/alert-rules", rule)
            return Change("alert rule", rule["title"], "created")
        if all(existing.get(key) == value for key, value in rule.items()):
            return Change("alert rule", rule["title"], "unchanged")
        self.request("PUT", path, rule)
        return Change("alert rule", rule["title"], "updated")

    def upload_contact_point(self, point: dict) -> Change:
        stored = next((p for p in self.request("GET", CONTACT_POINTS_PATH) or [] if p.get("uid") == point["uid"]), None)
        name = f"{point['name']} ({point['type']})"
        if stored is None:
            self.request("POST", CONTACT_POINTS_PATH, point)
            return Change("contact point", name, "created")
        if all(stored.get(key) == value for key, value in point.items()):
            return Change("contact point", name, "unchanged")
        self.request("PUT", f"{CONTACT_POINTS_PATH}/{point['uid']}", point)
        return Change("contact point", name, "updated")

    def upload_template(self, template: dict) -> Change:
        path = f"/api/v1/provisioning/templates/{template['name']}"
        stored = self.request("GET", path, missing_ok=True)
        if stored is not None and stored.get("template") == template["template"]:
            return Change("notification template", template["name"], "unchanged")
        self.request("PUT", path, {"template": template["template"]})
        return Change("notification template", template["name"], "updated" if stored else "created")

    def upload_policy(self, policy: dict) -> Change:
        """Grafana has one policy tree per organisation: ours replaces it (its root and the secmon route)."""
        stored = self.request("GET", POLICIES_PATH) or {}
        if all(stored.get(key) == value for key, value in policy.items()):
            return Change("notification policy", policy["receiver"], "unchanged")
        self.request("PUT", POLICIES_PATH, policy)
        return Change("notification policy", policy["receiver"], "updated")


def _same_dashboard(stored: dict, ours: dict) -> bool:
    """Grafana adds id and version; the rest must be ours, key for key."""
    return {key: value for key, value in stored.items() if key not in ("id", "version")} == {
        key: value for key, value in ours.items() if key not in ("id", "version")
    }


def push(
    client: GrafanaClient, dashboards: dict[str, dict], rules: list[dict], folder_uid: str, folder_title: str
) -> list[Change]:
    """The folder, then every dashboard into it, then every rule, then who hears of them (the message
    template, the contact points, the policy routing the rules to them); what each step did."""
    from secmon.grafana import notifications

    changes = [client.ensure_folder(folder_uid, folder_title)]
    changes += [client.upload_dashboard(dashboard, folder_uid) for dashboard in dashboards.values()]
    changes += [client.upload_rule(rule) for rule in rules]
    changes.append(client.upload_template(notifications.template()))
    changes += [client.upload_contact_point(point) for point in notifications.contact_points()]
    changes.append(client.upload_policy(notifications.policy()))
    return changes


def push_all(client: GrafanaClient, datasource_uid: str) -> list[Change]:
    """Every dashboard of dashboards/ and the high-severity alert rules, into the secmon folder."""
    from secmon.grafana.alert_rules import rules
    from secmon.grafana.dashboards import FOLDER_TITLE, FOLDER_UID, load_all

    dashboards = load_all()
    return push(client, dashboards, rules(FOLDER_UID, datasource_uid, dashboards), FOLDER_UID, FOLDER_TITLE)
