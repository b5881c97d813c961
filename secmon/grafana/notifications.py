"""Who hears of an alert: Grafana contact points, the notification policy that routes the secmon
rules to them, and the message template, from code next to the alert rules.

A webhook and an email contact point by default (var `notifications`: their URL and addresses);
var `notifications.extra` adds contact points of any type Grafana has (slack, pagerduty, teams, …),
each `{name, type, settings}`. The policy sends every alert labelled `source=secmon` to all of them,
grouped by detection. Each alert instance is one entity of a rule's query (alert_rules.alert_query),
so the message names the detection, its severity, the IP with its country and network, an example
request and the dashboard panel. The same objects go to Grafana's provisioning API
(`secmon dashboards push`, `secmon deploy`) and into a provisioning file (`secmon dashboards build`).
"""

from __future__ import annotations

from secmon import settings

TEMPLATE_NAME = "secmon"
RECEIVER = "secmon"  # every contact point below has this name: Grafana groups them as one receiver
POLICY_MATCHER = ["source", "=", "secmon"]  # the label every secmon rule carries (alert_rules._rule)

# Go templates (Grafana's notification templates). One alert per entity: its labels are the query's
# string columns.
TEMPLATE = """{{ define "secmon.title" }}[{{ .Status | toUpper }}] secmon {{ .CommonLabels.detection }} \
({{ .CommonLabels.severity }}){{ end }}
{{ define "secmon.message" }}{{ range .Alerts }}{{ .Labels.detection }} ({{ .Labels.severity }}): {{ .Labels.entity }}
  from {{ .Labels.country }}, network {{ .Labels.network }}
  example request: {{ .Labels.example }}
  dashboard: {{ if .PanelURL }}{{ .PanelURL }}{{ else }}{{ .DashboardURL }}{{ end }}
{{ end }}{{ end }}"""


def _settings() -> dict:
    return settings.dbt_vars()["notifications"]


def contact_points() -> list[dict]:
    """Grafana's EmbeddedContactPoint objects (POST /api/v1/provisioning/contact-points)."""
    configured = _settings()
    message = {"title": '{{ template "secmon.title" . }}', "message": '{{ template "secmon.message" . }}'}
    points = [
        {
            "uid": "secmon-webhook",
            "name": RECEIVER,
            "type": "webhook",
            "settings": {"url": configured["webhook_url"], "httpMethod": "POST", **message},
        },
        {
            "uid": "secmon-email",
            "name": RECEIVER,
            "type": "email",
            "settings": {
                "addresses": configured["email_addresses"],
                "subject": message["title"],
                "message": message["message"],
            },
        },
    ]
    points += [
        {"uid": f"secmon-{extra['name']}"[:40], "name": RECEIVER, "type": extra["type"], "settings": extra["settings"]}
        for extra in configured.get("extra", [])
    ]
    return points


def policy() -> dict:
    """The notification policy tree (PUT /api/v1/provisioning/policies): secmon's alerts, grouped by
    detection, to the receiver RECEIVER."""
    return {
        "receiver": RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
        "routes": [
            {
                "receiver": RECEIVER,
                "object_matchers": [POLICY_MATCHER],
                "group_by": ["detection", "severity"],
                "group_wait": "10s",
                "group_interval": "1m",
                "repeat_interval": "4h",
            }
        ],
    }


def template() -> dict:
    """The message template (PUT /api/v1/provisioning/templates/secmon)."""
    return {"name": TEMPLATE_NAME, "template": TEMPLATE}


def provisioning_file() -> dict:
    """The same three in Grafana's file-provisioning format (provisioning/alerting/*.yaml)."""
    return {
        "apiVersion": 1,
        "contactPoints": [
            {
                "orgId": 1,
                "name": RECEIVER,
                "receivers": [{key: point[key] for key in ("uid", "type", "settings")} for point in contact_points()],
            }
        ],
        "policies": [{"orgId": 1, **policy()}],
        "templates": [{"orgId": 1, **template()}],
    }
