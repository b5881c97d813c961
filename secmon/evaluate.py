"""`secmon eval`: the detections scored against the producer's ground-truth labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql

from producer.event import parse_timestamp

# Which scenario each detection answers.
DETECTION_SCENARIO = {
    "brute_force": "brute_force", "credential_stuffing": "credential_stuffing",
    "account_takeover": "account_takeover", "path_probing": "path_probing",
    "admin_interface_probing": "path_probing", "sensitive_files": "sensitive_files",
    "sqli_probing": "sqli_probing", "xss_probing": "xss_probing", "path_traversal": "path_traversal",
    "bad_user_agent": "bad_user_agent", "request_flood": "request_flood",
    "switching_user_agents": "switching_user_agents",
}


@dataclass(frozen=True)
class Alert:
    detection: str
    entity_type: str
    entity: str
    example: str | None
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Label:
    scenario: str
    attacker_ip: str
    target_username: str | None
    first_ms: int
    last_ms: int


def read_labels(path: Path) -> list[Label]:
    labels = []
    with open(path) as handle:
        for line in handle:
            doc = json.loads(line)
            labels.append(Label(doc["scenario"], doc["attacker_ip"], doc["target_username"],
                                parse_timestamp(doc["first_event"]), parse_timestamp(doc["last_event"])))
    return sorted(set(labels), key=lambda label: (label.first_ms, label.attacker_ip))


def read_alerts(pg_url: str, schema: str) -> list[Alert]:
    def ms(moment: datetime) -> int:
        return int(moment.timestamp() * 1000)

    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("select detection, entity_type, entity, example, window_start, window_end from {}.{}")
                    .format(sql.Identifier(schema), sql.Identifier("security_alerts")))
        alerts = [Alert(d, t, e, x, ms(s), ms(f)) for d, t, e, x, s, f in cur.fetchall()]
    conn.close()
    return alerts


def matches(alert: Alert, label: Label) -> bool:
    if DETECTION_SCENARIO[alert.detection] != label.scenario:
        return False
    if alert.entity_type == "username":
        same_entity = alert.entity == label.target_username and alert.example == label.attacker_ip
    else:
        same_entity = alert.entity == label.attacker_ip
    return same_entity and alert.start_ms <= label.last_ms and label.first_ms < alert.end_ms


def score(labels: list[Label], alerts: list[Alert]) -> dict:
    """Per scenario: precision (alerts of its detections that match one of its labels) and recall
    (its labels matched by at least one alert); and the alerts on entities no label names."""
    attackers = {label.attacker_ip for label in labels} | {label.target_username for label in labels}
    scenarios = []
    for scenario in sorted(set(DETECTION_SCENARIO.values())):
        own_labels = [label for label in labels if label.scenario == scenario]
        own_alerts = [alert for alert in alerts if DETECTION_SCENARIO[alert.detection] == scenario]
        true_alerts = sum(any(matches(alert, label) for label in own_labels) for alert in own_alerts)
        found = sum(any(matches(alert, label) for alert in own_alerts) for label in own_labels)
        scenarios.append({
            "scenario": scenario, "labels": len(own_labels), "alerts": len(own_alerts),
            "precision": true_alerts / len(own_alerts) if own_alerts else None,
            "recall": found / len(own_labels) if own_labels else None,
        })
    normal = sum(1 for alert in alerts if alert.entity not in attackers)
    return {"scenarios": scenarios, "alerts_on_normal_traffic": normal}
