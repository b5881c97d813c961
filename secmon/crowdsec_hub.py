"""CrowdSec's hub as data for the edge classifier: `secmon patterns --crowdsec-hub DIR`.

It reads a hub (the layout `cscli` installs under /etc/crowdsec/hub, or a checkout of
crowdsecurity/hub) and writes secmon/core/classify/data/crowdsec_hub.json, which
secmon.core.classify.crowdsec evaluates on every request, plus a report of what was not loaded:

- AppSec rules (`appsec-rules/**/*.yaml`: vpatch-* and the generic ones). What an access log shows
  of a request is its URI, query arguments, method, protocol, User-Agent and Referer. A condition on
  anything else (the body, another header, cookies) cannot be known from a log line: inside an `or`
  that alternative is dropped (the rule is loaded "partly"), inside an `and` the rule is not loaded.
- HTTP scenarios (`scenarios/**/*.yaml`, trigger and leaky): their `filter` must compile with the
  classifier's expr subset over the fields the hub's parsers derive from an access-log line; a leaky
  scenario also needs a bucket secmon can window (grouped by source IP, a distinct field it has).

It stays outside secmon.core.classify, beside the classifier's runtime half (crowdsec.py): it skips the
scenarios a detection stands for, which it reads from the detections' metadata (secmon.manifest), and
the core layer imports nothing of the dbt project's readers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import re2
import yaml

from secmon.core.classify import crowdsec
from secmon.manifest import crowdsec_coverage

LICENCE = "MIT (crowdsecurity/hub)"
DATA_FILE = crowdsec.DATA_FILE
REPORT_FILE = DATA_FILE.with_suffix(".report.txt")


class Unloadable(Exception):
    """A rule secmon cannot evaluate on an access-log line; the message says why."""


@dataclass(frozen=True)
class Refused:
    name: str
    kind: str  # appsec, scenario, or covered
    reason: str


def _cve(labels: dict | None, name: str) -> str:
    for item in (labels or {}).get("classification", []) or []:
        if str(item).lower().startswith("cve."):
            return str(item)[4:].upper()
    found = re.search(r"cve-\d{4}-\d+", name, re.IGNORECASE)
    return found[0].upper() if found else ""


# --- AppSec rules ------------------------------------------------------------------------------------


def _leaf_zones(leaf: dict, dropped: list[str]) -> list[str]:
    """The leaf's zones an access log shows; the others are named in `dropped`."""
    kept = []
    for zone in leaf.get("zones") or []:
        if zone in crowdsec.BODY_ZONES:
            dropped.append(f"needs the body ({zone})")
        elif zone == "HEADERS":
            if _visible_headers(leaf, dropped) is not None:
                kept.append(zone)
        elif zone in crowdsec.LOG_ZONES:
            kept.append(zone)
        else:
            dropped.append(f"needs {zone.lower().replace('_', ' ')}, not in an access log")
    return kept


def _visible_headers(leaf: dict, dropped: list[str]) -> list[str] | None:
    names = [str(name).lower() for name in leaf.get("variables") or []]
    if not names:
        return []  # every header: the log shows User-Agent and Referer of them
    visible = [name for name in names if name in crowdsec.LOG_HEADERS]
    dropped.extend(f"needs the {name} header" for name in names if name not in crowdsec.LOG_HEADERS)
    return visible or None


def _checked_leaf(leaf: dict, zones: list[str]) -> dict:
    transforms = leaf.get("transform") or []
    unknown = [name for name in transforms if name not in crowdsec.TRANSFORMS and name != crowdsec.COUNT]
    if unknown:
        raise Unloadable(f"transform {unknown[0]} (CrowdSec's transformMap does not have it either)")
    match = leaf.get("match") or {}
    if match.get("type") not in crowdsec.MATCH_TYPES:
        raise Unloadable(f"match type {match.get('type')} (CrowdSec's matchMap does not have it either)")
    if match["type"] == "regex":
        try:
            re2.compile(str(match.get("value", "")))
        except re2.error as exc:
            raise Unloadable(f"regex does not compile in RE2: {str(exc)[:60]}") from None
    visible = dict(leaf, zones=zones)
    if "HEADERS" in zones and leaf.get("variables"):
        visible["variables"] = [name for name in leaf["variables"] if str(name).lower() in crowdsec.LOG_HEADERS]
    return {key: visible[key] for key in ("zones", "variables", "transform", "match") if visible.get(key)}


def visible_condition(rule: dict, dropped: list[str]) -> dict | None:
    """What an access log can evaluate of one AppSec condition; None when it needs what a log lacks.

    CrowdSec flattens a rule to OR-of-ANDs (modsecurity.go flattenToDNF): a node's own zones are one
    more AND term beside its `and` children; its `or` children are alternatives."""
    terms = []
    if rule.get("zones"):
        leaf_dropped: list[str] = []
        zones = _leaf_zones(rule, leaf_dropped)
        if not zones:
            dropped.extend(leaf_dropped)
            return None
        dropped.extend(leaf_dropped)
        terms.append(_checked_leaf(rule, zones))
    for child in rule.get("and") or []:
        visible = visible_condition(child, dropped)
        if visible is None:
            return None
        terms.append(visible)
    if rule.get("or"):
        alternatives = [visible for child in rule["or"] if (visible := visible_condition(child, dropped)) is not None]
        if not alternatives:
            return None
        terms.append(alternatives[0] if len(alternatives) == 1 else {"or": alternatives})
    if not terms:
        raise Unloadable("a condition without zones, `and` or `or`")
    return terms[0] if len(terms) == 1 else {"and": terms}


def appsec_entry(document: dict) -> dict:
    """One AppSec rule as the classifier's data, or Unloadable with why."""
    if not document.get("rules"):
        if document.get("seclang_rules") or document.get("seclang_files_rules"):
            raise Unloadable("SecLang configuration (body processors, OWASP CRS): secmon's CRS engine covers CRS")
        raise Unloadable("no rules (it only makes CrowdSec download data files)")
    dropped: list[str] = []
    condition = visible_condition({"or": document["rules"]}, dropped)
    if condition is None:
        raise Unloadable("; ".join(sorted(set(dropped))))
    return {
        "name": document["name"],
        "description": " ".join(str(document.get("description", "")).split()),
        "cve": _cve(document.get("labels"), document["name"]),
        "loaded": "partly: dropped " + "; ".join(sorted(set(dropped))) if dropped else "whole",
        "condition": condition,
    }


# --- scenarios ---------------------------------------------------------------------------------------

LEAK_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
LEAK_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def leak_seconds(text: object) -> float:
    """A Go duration as CrowdSec writes leakspeed (`10s`, `2m`, `500ms`) -> seconds."""
    match = LEAK_SPEED.match(str(text))
    if match is None:
        raise Unloadable(f"leakspeed {text!r} is not a duration like 10s or 2m")
    return float(match[1]) * LEAK_UNIT_SECONDS[match[2]]


def bucket_of(document: dict) -> dict:
    """What makes a leaky scenario a rate secmon windows: capacity, leak, distinct field, per source IP."""
    if document.get("groupby") != "evt.Meta.source_ip":
        raise Unloadable(f"leaky bucket grouped by {document.get('groupby')!r}, not the source IP")
    for unsupported in ("condition", "cancel_on"):
        if unsupported in document:
            raise Unloadable(f"leaky bucket with `{unsupported}`")
    distinct = document.get("distinct")
    if distinct is not None and distinct not in crowdsec.DISTINCT_FIELDS:
        raise Unloadable(f"leaky bucket distinct on {distinct}, not a field of secmon's events")
    capacity = document.get("capacity")
    if not isinstance(capacity, int) or capacity < 1:
        raise Unloadable(f"leaky bucket capacity {capacity!r} is not a whole number of requests")
    return {
        "capacity": capacity,
        "leak_seconds": leak_seconds(document.get("leakspeed")),
        "distinct_field": crowdsec.DISTINCT_FIELDS.get(distinct),
    }


def scenario_entry(document: dict) -> dict:
    """One HTTP scenario as the classifier's data, or Unloadable with why."""
    kind = document.get("type")
    if kind not in ("trigger", "leaky"):
        raise Unloadable(f"type {kind} (only trigger and leaky scenarios)")
    text = " ".join(str(document["filter"]).split())
    try:
        crowdsec.compile_filter(text)
    except crowdsec.ExprError as exc:
        raise Unloadable(str(exc)) from None
    return {
        "name": document["name"],
        "type": kind,
        "description": " ".join(str(document.get("description", "")).split()),
        "cve": _cve(document.get("labels"), document["name"]),
        "filter": text,
        "bucket": bucket_of(document) if kind == "leaky" else None,
    }


def is_http_scenario(document: object) -> bool:
    return (
        isinstance(document, dict)
        and "name" in document
        and "filter" in document
        and re.search(r"http|file_", str(document["filter"])) is not None
    )


# --- the hub -----------------------------------------------------------------------------------------


def _documents(paths: list[Path]) -> list[dict]:
    return [document for path in paths for document in yaml.safe_load_all(path.read_text()) if document]


def read_hub(hub: Path) -> tuple[dict, list[Refused]]:
    """Every AppSec rule and HTTP scenario of the hub at `hub`: {"appsec": [...], "scenarios": [...]},
    and what was not loaded (covered by a detection, or refused) with why."""
    appsec_files = sorted(hub.glob("appsec-rules/**/*.yaml"))
    scenario_files = sorted(hub.glob("scenarios/**/*.yaml"))
    if not appsec_files and not scenario_files:
        raise FileNotFoundError(f"{hub} holds no appsec-rules/**/*.yaml nor scenarios/**/*.yaml: not a CrowdSec hub")
    loaded: dict[str, list[dict]] = {"appsec": [], "scenarios": []}
    refused: list[Refused] = []
    for document in _documents(appsec_files):
        try:
            loaded["appsec"].append(appsec_entry(document))
        except Unloadable as exc:
            refused.append(Refused(document["name"], "appsec", str(exc)))
    # Hub scenarios that a detection of ours already is (their thresholds are our vars' defaults): counted
    # as covered, not loaded again.
    covered = crowdsec_coverage()
    for document in filter(is_http_scenario, _documents(scenario_files)):
        if document["name"] in covered:
            refused.append(Refused(document["name"], "covered", f"the {covered[document['name']]} detection"))
            continue
        try:
            loaded["scenarios"].append(scenario_entry(document))
        except Unloadable as exc:
            refused.append(Refused(document["name"], "scenario", str(exc)))
    for entries in loaded.values():
        entries.sort(key=lambda entry: entry["name"])
    return loaded, sorted(refused, key=lambda item: (item.kind, item.name))


def hub_commit(hub: Path) -> str:
    """The hub's commit: from a git checkout, else from the snapshot's README (`at commit <sha>`)."""
    head = hub / ".git" / "HEAD"
    if head.exists():
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            ref_file = hub / ".git" / ref[5:]
            return ref_file.read_text().strip() if ref_file.exists() else ref
        return ref
    readme = hub / "README.md"
    found = re.search(r"commit ([0-9a-f]{40})", readme.read_text()) if readme.exists() else None
    return found[1] if found else "unknown"


def hub_data(hub: Path, loaded: dict) -> dict:
    licence = hub / "LICENSE"
    return {
        "source": "crowdsecurity/hub",
        "hub_commit": hub_commit(hub),
        "licence": LICENCE,
        "licence_text": licence.read_text() if licence.exists() else "",
        **loaded,
    }


def _reason_kind(reason: str) -> str:
    """A refusal's reason without its particulars, for the report's counts."""
    for marker in (
        "needs the body",
        "header",
        "SecLang",
        "no rules",
        "a data file",
        "not derived",
        "leaky bucket",
        "not on an access-log line",
        "virtual host",
    ):
        if marker in reason:
            return marker
    return reason.split(":")[0][:60]


def report(loaded: dict, refused: list[Refused]) -> str:
    """What `secmon patterns --crowdsec-hub` says: counts by reason, then every rule not (fully) loaded."""
    partly = [entry for entry in loaded["appsec"] if entry["loaded"] != "whole"]
    by_kind = Counter(item.kind for item in refused)
    buckets = sum(entry["bucket"] is not None for entry in loaded["scenarios"])
    lines = [
        f"appsec rules: loaded {len(loaded['appsec']) - len(partly)}, partly {len(partly)} (an alternative on "
        f"the body or a header dropped), refused {by_kind['appsec']}; scenarios: evaluated "
        f"{len(loaded['scenarios'])} ({buckets} leaky buckets), covered by a detection {by_kind['covered']}, "
        f"refused {by_kind['scenario']}"
    ]
    for kind in ("appsec", "scenario"):
        reasons = Counter(_reason_kind(item.reason) for item in refused if item.kind == kind)
        lines += [f"  {kind} refused, {reason}: {count}" for reason, count in reasons.most_common()]
    lines += [f"  partly {entry['name']}: {entry['loaded']}" for entry in partly]
    lines += [f"  {'covered' if r.kind == 'covered' else 'refused'} {r.name}: {r.reason}" for r in refused]
    return "\n".join(lines) + "\n"


def write_data(hub: Path, data_file: Path = DATA_FILE) -> tuple[Path, str]:
    """The hub -> the classifier's data file and its report beside it; returns (data file, report)."""
    loaded, refused = read_hub(hub)
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(json.dumps(hub_data(hub, loaded), indent=1, ensure_ascii=False) + "\n")
    text = report(loaded, refused)
    data_file.with_suffix(".report.txt").write_text(text)
    return data_file, text
