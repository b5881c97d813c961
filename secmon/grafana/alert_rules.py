"""Grafana alert rules for the high-severity detections, one rule per detection view.

A rule counts the detection's rows whose window ended within the last ten minutes and fires
when there is at least one. The same rules go to Grafana through the provisioning API
(`secmon dashboards push`) and as a provisioning file (`secmon dashboards build`).
"""

from __future__ import annotations

from secmon.grafana import panels
from secmon.detections import HIGH_SEVERITIES, Detection, detections

RULE_GROUP = "secmon-detections"
EVALUATION_INTERVAL_SECONDS = 60
LOOKBACK_SECONDS = 600
DETECTIONS_DASHBOARD_UID = "secmon-security-detections"


def rule_uid(detection: str) -> str:
    return f"secmon-{detection}"[:40].replace("_", "-")


def alert_query(detection: str) -> str:
    return f"select count(*) as alerts from {detection} where $__timeFilter(window_end)"


def rules(folder_uid: str, datasource_uid: str, dashboards: dict[str, dict] | None = None) -> list[dict]:
    """The provisioning API's rules (POST /api/v1/provisioning/alert-rules), critical ones first.

    With the `dashboards` (by uid), each rule links to its detection's panel on the detections dashboard.
    """
    detections_dashboard = (dashboards or {}).get(DETECTIONS_DASHBOARD_UID)
    panel_ids = detection_panel_ids(detections_dashboard) if detections_dashboard else {}
    selected = [detection for detection in detections() if detection.severity in HIGH_SEVERITIES]
    selected.sort(key=lambda detection: (detection.severity != "critical", detection.name))
    return [_rule(detection, folder_uid, datasource_uid, panel_ids.get(detection.name))
            for detection in selected]


def _rule(detection: Detection, folder_uid: str, datasource_uid: str, panel_id: int | None) -> dict:
    annotations = {
        "summary": f"{detection.name}: {{{{ $values.B }}}} alert(s) in the last {LOOKBACK_SECONDS // 60} minutes",
        "description": detection.description,
    }
    if panel_id is not None:
        annotations.update({"__dashboardUid__": DETECTIONS_DASHBOARD_UID, "__panelId__": str(panel_id)})
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
                "model": {"refId": "A", "datasource": {"type": panels.DATASOURCE_TYPE, "uid": datasource_uid},
                          "editorMode": "code", "format": "table", "rawQuery": True,
                          "rawSql": alert_query(detection.name)},
            },
            _expression("B", {"type": "reduce", "expression": "A", "reducer": "last"}),
            _expression("C", {"type": "threshold", "expression": "B",
                              "conditions": [{"evaluator": {"type": "gt", "params": [0]}}]}),
        ],
    }


def _expression(ref_id: str, model: dict) -> dict:
    return {"refId": ref_id, "datasourceUid": "__expr__", "relativeTimeRange": {"from": LOOKBACK_SECONDS, "to": 0},
            "model": {"refId": ref_id, "datasource": {"type": "__expr__", "uid": "__expr__"}, **model}}


def provisioning_file(folder_title: str, datasource_uid: str, dashboards: dict[str, dict] | None = None) -> dict:
    """The same rules in Grafana's file-provisioning format (provisioning/alerting/*.yaml)."""
    file_rules = [{key: value for key, value in rule.items() if key not in ("ruleGroup", "folderUID", "orgID")}
                  for rule in rules("", datasource_uid, dashboards)]
    return {"apiVersion": 1, "groups": [{"orgId": 1, "name": RULE_GROUP, "folder": folder_title,
                                         "interval": f"{EVALUATION_INTERVAL_SECONDS}s", "rules": file_rules}]}


def detection_panel_ids(dashboard: dict) -> dict[str, int]:
    """Which panel of the detections dashboard shows each detection: the one whose query reads it."""
    names = [detection.name for detection in detections()]
    ids = {}
    for panel in dashboard["panels"]:
        sql = panel["targets"][0]["rawSql"] + " "
        ids.update({name: panel["id"] for name in names if f"from {name} " in sql})
    return ids
