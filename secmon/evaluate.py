"""`secmon eval`: the detections scored against the producer's ground-truth labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql

from secmon import settings
from secmon.core.events import parse_timestamp
from secmon.manifest import detections


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
            labels.append(
                Label(
                    doc["scenario"],
                    doc["attacker_ip"],
                    doc["target_username"],
                    parse_timestamp(doc["first_event"]),
                    parse_timestamp(doc["last_event"]),
                )
            )
    return sorted(set(labels), key=lambda label: (label.first_ms, label.attacker_ip))


def read_alerts(pg_url: str, schema: str) -> list[Alert]:
    def ms(moment: datetime) -> int:
        return int(moment.timestamp() * 1000)

    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("select detection, entity_type, entity, example, window_start, window_end from {}.{}").format(
                sql.Identifier(schema), sql.Identifier(settings.ALERTS_TABLE)
            )
        )
        alerts = [Alert(d, t, e, x, ms(s), ms(f)) for d, t, e, x, s, f in cur.fetchall()]
    conn.close()
    return alerts


def scenario_of() -> dict[str, str]:
    """Which producer scenario each detection answers (its yml `config.meta.scenario`), for those that do."""
    return {detection.name: detection.scenario for detection in detections() if detection.scenario}


def on_attack(alert: Alert, label: Label) -> bool:
    """The alert names the label's attacker (or, for a username detection, its target account
    attacked from the label's IP; for a URL detection, the URL served to the label's IP) during the attack."""
    if alert.entity_type == "username":
        same_entity = alert.entity == label.target_username and alert.example == label.attacker_ip
    elif alert.entity_type == "url":  # an exposure: the URL the site served, to the attacker its example names
        same_entity = alert.example.startswith(label.attacker_ip + " ")
    else:
        same_entity = alert.entity == label.attacker_ip
    return same_entity and alert.start_ms <= label.last_ms and label.first_ms < alert.end_ms


def score(labels: list[Label], alerts: list[Alert]) -> dict:
    """Per scenario: recall (its labels found by an alert of a detection that answers it) and
    precision (the alerts of those detections that are on some attack: an attacker caught by a
    second detection during its attack, a scanner's login attempts say, is no false alert); and the
    alerts on entities no label names."""
    scenario_of_detection = scenario_of()
    attackers = {label.attacker_ip for label in labels} | {label.target_username for label in labels}
    scenarios = []
    for scenario in sorted(set(scenario_of_detection.values())):
        own_labels = [label for label in labels if label.scenario == scenario]
        own_alerts = [alert for alert in alerts if scenario_of_detection.get(alert.detection) == scenario]
        true_alerts = sum(any(on_attack(alert, label) for label in labels) for alert in own_alerts)
        found = sum(any(on_attack(alert, label) for alert in own_alerts) for label in own_labels)
        scenarios.append(
            {
                "scenario": scenario,
                "labels": len(own_labels),
                "alerts": len(own_alerts),
                "precision": true_alerts / len(own_alerts) if own_alerts else None,
                "recall": found / len(own_labels) if own_labels else None,
            }
        )
    normal = sum(
        1 for alert in alerts if alert.entity not in attackers and not any(on_attack(alert, label) for label in labels)
    )
    return {"scenarios": scenarios, "alerts_on_normal_traffic": normal}
