"""`secmon patterns --crowdsec-hub`: CrowdSec's HTTP scenarios and virtual-patching rules as signatures.
The expr translator on the filters the hub writes, the AppSec zones an access log shows, what is
refused and why, and the shipped seed regenerated from the hub snapshot unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from secmon import patterns, settings
from secmon.cli import cli
from secmon.crowdsec_hub import (
    ExprParser,
    Untranslatable,
    hub_commit,
    read_hub,
    scenario_signature,
    seed_csv,
    vpatch_signature,
)

HUB = settings.PROJECT_DIR.parent / "shared" / "crowdsec-hub"
needs_hub = pytest.mark.skipif(
    not HUB.exists(), reason=f"the hub snapshot is not at {HUB} (shared/ beside the project)"
)


@pytest.mark.parametrize(
    ("expr", "sql"),
    [
        ("Upper(PathUnescape(evt.Meta.http_path)) contains Upper('${url:UTF-8:')", "decoded_url like '%${url:utf-8:%'"),
        (
            "evt.Meta.log_type == 'http_access-log' && Lower(evt.Meta.http_path) endsWith 'eval-stdin.php'",
            "lower(url) like '%eval-stdin.php'",
        ),
        (
            "evt.Meta.log_type in ['http_access-log'] and Upper(evt.Parsed.verb) == 'POST' "
            "and evt.Meta.http_status == '302'",
            "(upper(http_method) = 'POST' and cast(status_code as varchar) = '302')",
        ),
        ("Upper(evt.Meta.http_path) matches '/PUBLIC/PLUGINS/[^/]+/../'", "upper(url) ~ '/PUBLIC/PLUGINS/[^/]+/../'"),
        (
            "not (evt.Parsed.file_name == 'a_b.php') || evt.Meta.http_status in ['404', '403']",
            "(not regexp_replace(split_part(url, '?', 1), '^.*/', '') = 'a_b.php' or cast(status_code as varchar) in "
            "('404', '403'))",
        ),
        (
            "Lower(QueryUnescape(evt.Meta.http_path)) startsWith Lower('/setup.cgi?next_file=')",
            "decoded_url like '/setup.cgi?next\\_file=%'",
        ),
    ],
)
def test_the_expr_subset_becomes_sql(expr, sql):
    assert ExprParser(expr).parse() == sql


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("any(File('admin_interfaces.txt'), { evt.Meta.http_path contains #})", "`any`"),
        ("evt.Parsed.static_ressource == 'false'", "field evt.Parsed.static_ressource is not in an access log"),
        ("Upper(evt.Meta.http_path) matches '(?=x)y'", "regex not in the RE2 subset"),
        ("Base64Decode(evt.Meta.http_path) contains 'x'", "function Base64Decode"),
    ],
)
def test_what_an_access_log_cannot_show_is_refused_with_why(expr, reason):
    with pytest.raises(Untranslatable, match=reason.replace("(", r"\(").replace("?", r"\?")):
        ExprParser(expr).parse()


def test_a_leaky_scenario_is_a_bucket_with_its_rate():
    bucket = scenario_signature(
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
    assert (bucket.kind, bucket.capacity, bucket.leak_seconds) == ("bucket", 5, 120)
    assert bucket.distinct == "split_part(url, '?', 2)" and "AUTHOR=" in bucket.condition


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"groupby": "evt.Meta.http_path"}, "grouped by 'evt.Meta.http_path'"),
        ({"distinct": "evt.Meta.target_user"}, "distinct on evt.Meta.target_user"),
        ({"leakspeed": "soon"}, "leakspeed 'soon'"),
        ({"capacity": "five"}, "capacity 'five'"),
        ({"cancel_on": "evt.Meta.http_status == '200'"}, "with `cancel_on`"),
    ],
)
def test_a_leaky_scenario_secmon_cannot_count_says_why(change, reason):
    document = {
        "name": "x/bf",
        "type": "leaky",
        "groupby": "evt.Meta.source_ip",
        "capacity": 5,
        "leakspeed": "10s",
        "filter": "evt.Meta.http_path == '/wp-login.php'",
    }
    with pytest.raises(Untranslatable, match=re.escape(reason)):
        scenario_signature(document | change)


def test_appsec_zones_an_access_log_shows_and_a_header_dropped():
    rule = {
        "name": "crowdsecurity/vpatch-CVE-2000-1",
        "labels": {"classification": ["cve.CVE-2000-1"]},
        "rules": [
            {
                "and": [
                    {
                        "zones": ["URI"],
                        "transform": ["lowercase"],
                        "match": {"type": "endsWith", "value": "/Setup.action"},
                    },
                    {"zones": ["METHOD"], "match": {"type": "equals", "value": "POST"}},
                    {"zones": ["HEADERS"], "variables": ["X-Token"], "match": {"type": "equals", "value": "no-check"}},
                ]
            },
        ],
    }
    signature = vpatch_signature(rule)
    assert signature.condition == "(((lower(url) like '%/setup.action') and (http_method = 'POST')))"
    assert signature.translation == "partly: dropped HEADERS ['X-Token']" and signature.cve == "CVE-2000-1"
    only_body = {"name": "x", "rules": [{"zones": ["BODY_ARGS"], "match": {"type": "contains", "value": "x"}}]}
    with pytest.raises(Untranslatable, match="every condition reads a body or header"):
        vpatch_signature(only_body)


@needs_hub
def test_the_shipped_seed_is_the_snapshot_regenerated():
    signatures, refused = read_hub(HUB)
    assert patterns.HUB_SEED.read_text() == seed_csv(signatures, hub_commit(HUB))
    assert len(signatures) >= 150
    kinds = {signature.kind for signature in signatures}
    assert kinds == {"scenario", "vpatch", "bucket"}
    assert all(reason.reason for reason in refused)


@needs_hub
def test_patterns_with_the_hub_reports_and_renders(tmp_path, monkeypatch):
    monkeypatch.setattr(patterns, "HUB_SEED", tmp_path / "crowdsec_hub_signatures.csv")
    monkeypatch.setattr(patterns, "MACRO_PATH", tmp_path / "pattern_lists.sql")
    result = CliRunner().invoke(cli, ["patterns", "--crowdsec-hub", str(HUB)])
    assert result.exit_code == 0, result.output
    assert "translated" in result.output and "refused" in result.output
    report = (tmp_path / "crowdsec_hub_signatures.report.txt").read_text()
    assert "refused crowdsecurity/vpatch-CVE-2024-0012: every condition reads a body or header" in report


def test_a_folder_that_is_no_hub_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["patterns", "--crowdsec-hub", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "not a CrowdSec hub" in result.output


def test_the_macro_carries_every_signature_and_bucket_of_the_seed():
    rows = len(Path(patterns.HUB_SEED).read_text().splitlines()) - 1
    assert len(patterns.hub_signatures()) + len(patterns.hub_buckets()) == rows
    assert {name for name, *_ in patterns.hub_buckets()} >= {
        "crowdsecurity/http-bf-wordpress_bf",
        "crowdsecurity/http-wordpress_user-enum",
    }
