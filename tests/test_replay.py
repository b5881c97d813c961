"""Replay of real access logs: every format on the committed sample, malformed lines reported."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from secmon.cli import cli
from secmon.core.events import EventEncoder, parse_timestamp
from secmon.core.logs.formats import LineParser, MalformedLine, ReplayStats, parse_line, read_log

SAMPLE = Path(__file__).parent / "data" / "access.log"  # combined and common lines
JSON_SAMPLE = Path(__file__).parent / "data" / "access.json.log"  # nginx's escape=json lines


def replayed(path: Path, stats: ReplayStats) -> list:
    with open(path) as log:
        return list(read_log(log, stats, LineParser()))


def test_the_sample_parses_into_events_and_rejects():
    stats, json_stats = ReplayStats(), ReplayStats()
    events = replayed(SAMPLE, stats) + replayed(JSON_SAMPLE, json_stats)
    assert (stats.lines, stats.parsed, stats.rejected) == (7, 5, 2)
    assert stats.first_rejects == [
        'line 6: not common/combined: expected `host ident user [time] "request" status bytes`',
        "line 7: bad time '31/Foo/2024:12:30:49 +0000'",
    ]
    assert (json_stats.lines, json_stats.parsed, json_stats.rejected) == (4, 2, 2)
    assert json_stats.first_rejects == [
        "line 3: missing key 'time_local'",
        "line 4: bad JSON: Expecting property name enclosed in double quotes at column 46",
    ]
    combined, login, ipv6, quoted, common, nginx_json, nginx_local = events
    assert combined.to_dict() == {
        "request_timestamp": "2024-01-25T12:30:45.000Z",
        "ip_address": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/123.0.4567.89 Safari/537.36",
        "url": "/products/42?ref=home",
        "http_method": "GET",
        "status_code": 200,
        "response_time": None,
        "referrer": "https://www.google.com/",
        "user_id": None,
        "username": None,
        "user_action": "navigate_page",
        "security_level": "low",
    }
    assert (login.username, login.user_action, login.security_level, login.response_time) == (
        "john_doe",
        "login",
        "high",
        245,
    )
    assert ipv6.ip_address == "2001:db8:85a3::8a2e:370:7334"
    assert ipv6.request_timestamp == combined.request_timestamp + 2000  # +0100 zone honoured
    assert (ipv6.referrer, ipv6.user_agent, ipv6.user_action) == (None, None, "download_file")
    assert quoted.user_agent == 'Mozilla/5.0 (compatible; "quoted" agent)'
    assert (common.status_code, common.user_agent, common.referrer) == (304, None, None)
    assert (nginx_json.user_action, nginx_json.security_level, nginx_json.response_time) == ("upload_file", "high", 912)
    assert (nginx_local.ip_address, nginx_local.user_action, nginx_local.referrer) == ("::1", "logout", None)


def test_replay_command_reports_and_keeps_rejects(tmp_path):
    out, rejects = tmp_path / "events.jsonl", tmp_path / "rejects.log"
    result = CliRunner().invoke(cli, ["replay", str(SAMPLE), "--output", str(out), "--rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    assert "lines read 7, published 5, rejected 2" in result.output
    assert "rejected line 6: not common/combined" in result.output
    assert len(out.read_text().splitlines()) == 5
    assert rejects.read_text().splitlines() == SAMPLE.read_text().splitlines()[5:7]


def test_retime_now_keeps_gaps_scaled_by_speed(tmp_path):
    out = tmp_path / "events.jsonl"
    lines = SAMPLE.read_text().splitlines()[:2]
    result = CliRunner().invoke(
        cli, ["replay", "-", "--retime", "now", "--speed", "1000", "--output", str(out)], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    first, second = (parse_timestamp(json.loads(line)["request_timestamp"]) for line in out.read_text().splitlines())
    assert abs(first - time.time() * 1000) < 60_000
    assert second - first == 1  # one second of log in 1 ms of replay


log_lines = (
    st.text(max_size=300)
    | st.sampled_from(SAMPLE.read_text().splitlines()).flatmap(
        lambda line: st.tuples(st.integers(0, len(line)), st.text(max_size=12)).map(
            lambda cut: line[: cut[0]] + cut[1] + line[cut[0] :]
        )
    )
    | st.sampled_from(SAMPLE.read_text().splitlines()).map(lambda line: line.replace("200", "9" * 400))
    | st.just('{"a":' * 5000 + "1" + "}" * 5000)
    | st.sampled_from(
        [
            '{"remote_addr":"1.2.3.4","time_iso8601":"2024-01-25T12:00:00Z","request":"GET / HTTP/1.1",'
            '"status":1e999,"request_time":"inf"}',
            '{"remote_addr":"1.2.3.4","time_iso8601":"2024-01-25T12:00:00Z","request":"GET / HTTP/1.1",'
            '"status":"200","request_time":"nan"}',
            '1.2.3.4 - - [25/Jan/2024:12:00:00 +0000] "GET /\udcff HTTP/1.1" 200 5',
        ]
    )
)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(log_lines)
def test_any_line_is_an_event_or_a_malformed_line(line):
    try:
        event = parse_line(line)
    except MalformedLine as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    if event is None:
        assert line.startswith("#")  # only a W3C header describes the log rather than a request
        return
    EventEncoder().encode(event)  # whatever is accepted can be published
