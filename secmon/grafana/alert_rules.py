"""Grafana alert rules for the high-severity detections, one rule per detection view.

A rule counts the detection's alerts whose window ended within the last ten minutes, per entity,
and fires when there is at least one: one alert instance per attacker, labelled with its country,
network and an example request (the query's string columns become labels), which the notification
template (notifications.py) names. The same rules go to Grafana through the provisioning API
(`secmon dashboards push`) and as a provisioning file (`secmon dashboards build`).
"""

from __future__ import annotations

from secmon.grafana import panels
from secmon.manifest import HIGH_SEVERITIES, SEVERITIES, Detection, detections

RULE_GROUP = "secmon-detections"
EVALUATION_INTERVAL_SECONDS = 60
LOOKBACK_SECONDS = 600


def rule_uid(detection: str) -> str:
    return f"secmon-{detection}"[:40].replace("_", "-")


def alert_query(detection: str) -> str:
    return (
        "select alerts.entity, coalesce(origin.country_code, 'unknown') as country, "
        "coalesce(origin.as_name, 'unknown') as network, coalesce(max(alerts.example), '') as example, "
        "count(*) as alerts "
        "from security_alerts as alerts left join ip_enrichment as origin on origin.ip_address = alerts.entity "
        f"where alerts.detection = '{detection}' and $__timeFilter(alerts.window_end) "
        "group by alerts.entity, origin.country_code, origin.as_name"
    )


def rules(folder_uid: str, datasource_uid: str, dashboards: dict[str, dict] | None = None) -> list[dict]:
    """The provisioning API's rules (POST /api/v1/provisioning/alert-rules), critical ones first.

    With the `dashboards` (by uid), each rule links to its detection's stat panel.
    """
    panels_of_detections = detection_panels(dashboards or {})
    selected = [detection for detection in detections() if detection.severity in HIGH_SEVERITIES]
    selected.sort(key=lambda detection: (-SEVERITIES.index(detection.severity), detection.name))
    return [
        _rule(detection, folder_uid, datasource_uid, panels_of_detections.get(detection.name)) for detection in selected
    ]


def _rule(detection: Detection, folder_uid: str, datasource_uid: str, panel: tuple[str, int] | None) -> dict:
    annotations = {
        "summary": f"{detection.name}: {{{{ $labels.entity }}}} ({{{{ $labels.country }}}}, "
        f"{{{{ $labels.network }}}}), {{{{ $values.B }}}} alert(s) in the last {LOOKBACK_SECONDS // 60} minutes",
        "description": detection.description,
    }
    if panel is not None:
        dashboard_uid, panel_id = panel
        annotations.update({"__dashboardUid__": dashboard_uid, "__panelId__": str(panel_id)})
    return {
        "uid": rule_uid(detection.name),
        "title": f"secmon {detection.name}",
        "ruleGroup": RULE_GROUP,
        "folderUID": folder_uid,
        "orgID": 1,
        "condition": "C",
        "for": "0s",
        "noDataState": "OK",
        "execErrState": "Error",
        "labels": {"severity": detection.severity, "detection": detection.name, "source": "secmon"},
        "annotations": annotations,
        "data": [
            {
                "refId": "A",
                "datasourceUid": datasource_uid,
                "relativeTimeRange": {"from": LOOKBACK_SECONDS, "to": 0},
                "model": {
                    "refId": "A",
                    "datasource": {"type": panels.DATASOURCE_TYPE, "uid": datasource_uid},
                    "editorMode": "code",
                    "format": "table",
                    "rawQuery": True,
                    "rawSql": alert_query(detection.name),
                },
            },
            _expression("B", {"type": "reduce", "expression": "A", "reducer": "last"}),
            _expression(
                "C",
                {"type": "threshold", "expression": "B", "conditions": [{"evaluator": {"type": "gt", "params": [0]}}]},
            ),
        ],
    }


def _expression(ref_id: str, model: dict) -> dict:
    return {
        "refId": ref_id,
        "datasourceUid": "__expr__",
        "relativeTimeRange": {"from": LOOKBACK_SECONDS, "to": 0},
        "model": {"refId": ref_id, "datasource": {"type": "__expr__", "uid": "__expr__"}, **model},
    }


def provisioning_file(folder_title: str, datasource_uid: str, dashboards: dict[str, dict] | None = None) -> dict:
    """The same rules in Grafana's file-provisioning format (provisioning/alerting/*.yaml)."""
    file_rules = [
        {key: value for key, value in rule.items() if key not in ("ruleGroup", "folderUID", "orgID")}
        for rule in rules("", datasource_uid, dashboards)
    ]
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": RULE_GROUP,
                "folder": folder_title,
                "interval": f"{EVALUATION_INTERVAL_SECONDS}s",
                "rules": file_rules,
            }
        ],
    }


def detection_panels(dashboards: dict[str, dict]) -> dict[str, tuple[str, int]]:
    """Which stat panel shows each detection, as (dashboard uid, panel id): the one whose query reads it."""
    names = [detection.name for detection in detections()]
    found = {}
    for uid, dashboard in sorted(dashboards.items()):
        for panel in dashboard["panels"]:
            if panel["type"] != "stat":
                continue
            sql = panel["targets"][0]["rawSql"] + " "
            found.update({name: (uid, panel["id"]) for name in names if f"from {name} " in sql})
    return found
