"""docs/extending.md's "Add a log format" recipe, followed literally in a copy of the project: its block goes
where its fence says, and then `secmon formats check` and `secmon replay` read a log of that format
by its name. Every built-in format, for its part, parses some fixture line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import recipe

from secmon import settings
from secmon.core.logs.formats import REGISTRY, LineParser, MalformedLine, trusted_networks

DECLARED_LOG = Path(__file__).parent / "data" / "declared" / "waf.log"
FORMATS = Path(__file__).parent / "data" / "formats"


def secmon(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from secmon.cli import cli; cli()", *args],
        env={**os.environ, "SECMON_PROJECT_DIR": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "log_formats.yml"):
        shutil.copy(settings.PROJECT_DIR / name, copy / name)
    shutil.copytree(settings.PROJECT_DIR / "seeds", copy / "seeds")  # the pattern lists replay classifies with
    steps = recipe("Add a log format")
    assert [(action, path) for action, path, _ in steps] == [("append", "log_formats.yml")]
    for _, path, text in steps:
        (copy / path).write_text((copy / path).read_text() + text)
    return copy


def test_the_declared_format_reads_its_log_by_name(project, tmp_path):
    check = secmon(project, "formats", "check", str(DECLARED_LOG), "--log-format", "waf")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3 lines: 3 parsed (waf (3 lines)), 0 matched no format" in check.stdout.replace("\n", " ")
    output = tmp_path / "events.jsonl"
    replay = secmon(project, "replay", str(DECLARED_LOG), "--log-format", "waf", "--output", str(output))
    assert replay.returncode == 0, replay.stdout + replay.stderr
    events = [json.loads(line) for line in output.read_text().splitlines()]
    assert [
        (e["ip_address"], e["http_method"], e["status_code"], e["response_time"], e["username"]) for e in events
    ] == [
        ("203.0.113.9", "GET", 200, 4, None),
        ("198.51.100.40", "POST", 200, 210, "admin"),
        ("2001:db8::44", "PROPFIND", 405, 1, None),
    ]


def test_an_unknown_name_is_a_one_line_error(project):
    result = secmon(project, "formats", "check", str(DECLARED_LOG), "--log-format", "nope")
    assert result.returncode == 2
    assert "no such name" in result.stderr and "waf" in result.stderr


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_format_parses_a_fixture_line(name):
    parser = LineParser(name, trusted_networks(["10.0.0.0/8"]))  # Envoy's default names its client only so
    parsed = 0
    for fixture in FORMATS.glob("*.log"):
        for line in fixture.read_text().splitlines():
            try:
                parsed += parser.parse(line) is not None
            except MalformedLine:
                pass
    assert parsed, f"format {name} parses no line of tests/data/formats/: add its fixture"
