"""Per-detection regression fixtures, in the style of CrowdSec's scenario tests: real-shaped access
logs (tests/data/detections/*.log) go through `secmon replay` and the local engine (`secmon stream`)
on a stack of their own, and each file raises exactly the alerts tests/data/detections/expected.yml
lists for it: its attacks are found and its look-alike normal lines raise nothing."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
import yaml
from click.testing import CliRunner
from support import close_every_window

from secmon import settings, stack
from secmon.cli import cli
from secmon.core.endpoints import recorded_endpoints
from secmon.dbt_runner import run_dbt
from secmon.engine.ingest import ensure_landing_table
from secmon.engine.stream import Stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURES = Path(__file__).parent / "data" / "detections"
EXPECTED: dict[str, list[list[str]]] = yaml.safe_load((FIXTURES / "expected.yml").read_text())


def ips_of(log: Path) -> set[str]:
    return {line.split(" ", 1)[0] for line in log.read_text().splitlines() if line}


@pytest.fixture(scope="module")
def alerts_by_ip(tmp_path_factory, stack_options_factory) -> dict[str, set[tuple[str, str]]]:
    """Every fixture replayed into a fresh stack and streamed: IP → its (detection, IP) alerts."""
    state_dir = tmp_path_factory.mktemp("fixtures") / "state"
    stack.up(state_dir, stack_options_factory())
    try:
        endpoints = recorded_endpoints(state_dir)
        ensure_landing_table(endpoints)
        assert run_dbt(["build", "-t", "local", "--quiet"], endpoints) == 0
        for log in sorted(FIXTURES.glob("*.log")):
            result = CliRunner().invoke(cli, ["replay", "--state-dir", str(state_dir), str(log)])
            assert result.exit_code == 0 and ", rejected 0" in result.output, result.output
        Stream(endpoints, state_dir).run(idle_exit_after=2)
        close_every_window(endpoints)
        Stream(endpoints, state_dir).run(idle_exit_after=2)
        with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
            cur.execute(f"select distinct detection, entity from {settings.pg_schema()}.{settings.ALERTS_TABLE}")
            rows = cur.fetchall()
        conn.close()
    finally:
        stack.down(state_dir, purge=True)
    found: dict[str, set[tuple[str, str]]] = {}
    for detection, ip in rows:
        found.setdefault(ip, set()).add((detection, ip))
    return found


def test_every_fixture_has_its_expectations():
    assert {log.name for log in FIXTURES.glob("*.log")} == set(EXPECTED)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_the_fixture_raises_exactly_its_alerts(alerts_by_ip, fixture):
    raised = set().union(*(alerts_by_ip.get(ip, set()) for ip in ips_of(FIXTURES / fixture)))
    expected = {tuple(alert) for alert in EXPECTED[fixture]}
    assert raised == expected, (
        f"raised but not expected {sorted(raised - expected)}, expected but not raised {sorted(expected - raised)}"
    )
