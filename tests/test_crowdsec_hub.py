"""The hub importer (secmon.crowdsec_hub): what an access log can evaluate of each AppSec rule and
HTTP scenario, what is refused and why, and the vendored data file regenerated from the snapshot."""

from __future__ import annotations

import json
import re

import pytest

from secmon import settings
from secmon.crowdsec_hub import (
    DATA_FILE,
    REPORT_FILE,
    Unloadable,
    appsec_entry,
    read_hub,
    scenario_entry,
    visible_condition,
    write_data,
)
from secmon.manifest import crowdsec_coverage

HUB = settings.PROJECT_DIR.parent / "shared" / "crowdsec-hub"
needs_hub = pytest.mark.skipif(
    not HUB.exists(), reason=f"the hub snapshot is not at {HUB} (shared/ beside the project)"
)

URI_ENDS = {"zones": ["URI"], "transform": ["lowercase"], "match": {"type": "endsWith", "value": "/setup.action"}}
BODY = {"zones": ["BODY_ARGS"], "variables": ["cmd"], "match": {"type": "contains", "value": "id"}}
TOKEN = {"zones": ["HEADERS"], "variables": ["X-Token"], "match": {"type": "equals", "value": "no-check"}}
AGENT = {"zones": ["HEADERS"], "variables": ["User-Agent"], "match": {"type": "contains", "value": "curl"}}


def rule(*conditions: dict, name: str = "x/vpatch-CVE-2000-1") -> dict:
    return {
        "name": name,
        "description": "d",
        "labels": {"classification": ["cve.CVE-2000-1"]},
        "rules": list(conditions),
    }


def test_a_condition_on_the_body_or_another_header_in_an_and_refuses_the_rule():
    for needed, reason in ((BODY, "needs the body (BODY_ARGS)"), (TOKEN, "needs the x-token header")):
        with pytest.raises(Unloadable, match=re.escape(reason)):
            appsec_entry(rule({"and": [URI_ENDS, needed]}))


def test_an_alternative_on_the_body_is_dropped_and_the_rule_loaded_partly():
    entry = appsec_entry(rule({"or": [URI_ENDS, BODY]}))
    assert entry["condition"] == URI_ENDS and entry["cve"] == "CVE-2000-1"
    assert entry["loaded"] == "partly: dropped needs the body (BODY_ARGS)"


def test_a_leaf_keeps_the_zones_and_headers_a_log_shows():
    dropped: list[str] = []
    mixed = {"zones": ["ARGS", "BODY_ARGS"], "match": {"type": "contains", "value": "x"}}
    assert visible_condition(mixed, dropped) == {"zones": ["ARGS"], "match": {"type": "contains", "value": "x"}}
    assert visible_condition({"and": [URI_ENDS, AGENT]}, dropped) == {"and": [URI_ENDS, AGENT]}
    assert appsec_entry(rule({"and": [URI_ENDS, AGENT]}))["loaded"] == "whole"
    assert dropped == ["needs the body (BODY_ARGS)"]


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ({"zones": ["URI"], "transform": ["rot13"], "match": {"type": "equals", "value": "x"}}, "transform rot13"),
        ({"zones": ["URI"], "match": {"type": "soundsLike", "value": "x"}}, "match type soundsLike"),
        ({"zones": ["URI"], "match": {"type": "regex", "value": "(?=x)"}}, "does not compile in RE2"),
        ({"zones": ["COOKIES"], "match": {"type": "contains", "value": "x"}}, "needs cookies"),
    ],
)
def test_what_crowdsec_or_a_log_cannot_evaluate_is_refused_with_why(condition, reason):
    with pytest.raises(Unloadable, match=re.escape(reason)):
        appsec_entry(rule(condition))


def test_seclang_and_data_only_rules_are_refused():
    with pytest.raises(Unloadable, match="SecLang"):
        appsec_entry({"name": "x/base-config", "seclang_rules": ["SecRuleEngine On"]})
    with pytest.raises(Unloadable, match="data files"):
        appsec_entry({"name": "x/crs-exclusion", "data": [{"dest_file": "a.conf"}]})


def test_a_leaky_scenario_is_a_bucket_with_its_rate_and_distinct_field():
    entry = scenario_entry(
        {
            "name": "x/user-enum",
            "type": "leaky",
            "groupby": "evt.Meta.source_ip",
            "distinct": "evt.Parsed.http_args",
            "capacity": 5,
            "leakspeed": "2m",
            "filter": "Upper(evt.Parsed.http_args) contains 'AUTHOR='",
        }
    )
    assert entry["bucket"] == {"capacity": 5, "leak_seconds": 120.0, "distinct_field": "http_args"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"groupby": "evt.Meta.http_path"}, "grouped by 'evt.Meta.http_path'"),
        ({"distinct": "evt.Meta.target_user"}, "distinct on evt.Meta.target_user"),
        ({"leakspeed": "soon"}, "leakspeed 'soon'"),
        ({"capacity": -1}, "capacity -1"),
        ({"cancel_on": "evt.Meta.http_status == '200'"}, "with `cancel_on`"),
        ({"type": "conditional"}, "type conditional"),
        ({"filter": "any(File('x.txt'), { evt.Meta.http_path contains #})"}, "any() (a data file"),
        ({"filter": "evt.Meta.sub_type == 'auth_fail'"}, "set by error-log parsers"),
        ({"filter": "evt.Meta.target_user == 'x'"}, "not derived from an access-log line"),
    ],
)
def test_a_scenario_secmon_cannot_evaluate_says_why(change, reason):
    document = {
        "name": "x/bf",
        "type": "leaky",
        "groupby": "evt.Meta.source_ip",
        "capacity": 5,
        "leakspeed": "10s",
        "filter": "evt.Meta.http_path == '/wp-login.php'",
    }
    with pytest.raises(Unloadable, match=re.escape(reason)):
        scenario_entry(document | change)


def test_a_folder_that_is_no_hub_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a CrowdSec hub"):
        read_hub(tmp_path)


@needs_hub
def test_the_vendored_data_and_report_are_the_snapshot_regenerated(tmp_path):
    data_file, report = write_data(HUB, tmp_path / "crowdsec_hub.json")
    assert json.loads(DATA_FILE.read_text()) == json.loads(data_file.read_text())
    assert REPORT_FILE.read_text() == report


@needs_hub
def test_the_snapshot_loads_vpatch_generic_rules_and_scenarios():
    loaded, refused = read_hub(HUB)
    names = {entry["name"] for entry in loaded["appsec"]}
    assert {"crowdsecurity/generic-wordpress-uploads-php", "crowdsecurity/appsec-generic-test"} <= names
    assert sum(name.startswith("crowdsecurity/vpatch-") for name in names) >= 100
    scenarios = {entry["name"] for entry in loaded["scenarios"]}
    assert {"crowdsecurity/CVE-2023-22515", "crowdsecurity/CVE-2024-0012"} <= scenarios  # file_*, let
    assert {item.name for item in refused if item.kind == "covered"} == set(crowdsec_coverage())
    assert all(item.reason for item in refused)
