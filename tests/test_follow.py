"""`secmon follow`: tail -F semantics on real files (rotation by rename and by copytruncate, late
files, partial lines, restarts), then live through the real broker into the landing table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from secmon import settings
from secmon.core.logs.tail import LogFollower, load_positions, save_positions

SECMON = str(Path(sys.executable).with_name("secmon"))


def line(number: int, path: str = "/") -> str:
    client, second = f"198.51.100.{number % 250 + 1}", f"{number % 60:02d}"
    return f'{client} - - [12/Mar/2024:09:00:{second} +0000] "GET {path}{number} HTTP/1.1" 200 10 "-" "curl/8"'


def lines_of(chunks) -> list[str]:
    """A poll's lines, whatever paths they came from."""
    return [line for _, lines in chunks for line in lines]


def append(path: Path, *lines: str, newline: bool = True) -> None:
    with open(path, "a") as handle:
        handle.write("\n".join(lines) + ("\n" if newline else ""))


def test_starts_at_the_end_and_a_partial_line_waits_for_its_newline(tmp_path):
    log = tmp_path / "access.log"
    append(log, line(1), line(2))
    follower = LogFollower([log])
    assert lines_of(follower.poll()) == []
    append(log, line(3))
    append(log, line(4)[:20], newline=False)
    assert lines_of(follower.poll()) == [line(3)]
    append(log, line(4)[20:])
    assert lines_of(follower.poll()) == [line(4)]


def test_from_start_reads_the_whole_file(tmp_path):
    log = tmp_path / "access.log"
    append(log, line(1), line(2))
    assert lines_of(LogFollower([log], from_start=True).poll()) == [line(1), line(2)]


def test_rotation_by_rename_reads_the_old_file_to_its_end_then_the_new_one(tmp_path):
    log = tmp_path / "access.log"
    append(log, line(0))
    follower = LogFollower([log])
    append(log, line(1))
    assert lines_of(follower.poll()) == [line(1)]
    log.rename(tmp_path / "access.log.1")
    append(tmp_path / "access.log.1", line(2))  # the server writes on until it reopens
    append(log, line(3))
    assert lines_of(follower.poll()) == [line(2), line(3)]


def test_copytruncate_reads_the_file_again_from_its_start(tmp_path):
    log = tmp_path / "access.log"
    append(log, line(0))
    follower = LogFollower([log])
    append(log, line(1), line(2))
    assert lines_of(follower.poll()) == [line(1), line(2)]
    with open(log, "r+") as handle:
        handle.truncate(0)
    append(log, line(3))
    assert lines_of(follower.poll()) == [line(3)]


def test_a_file_that_appears_later_is_read_whole(tmp_path):
    log = tmp_path / "later.log"
    follower = LogFollower([log])
    assert lines_of(follower.poll()) == []
    append(log, line(1), line(2))
    assert lines_of(follower.poll()) == [line(1), line(2)]


def test_a_restart_goes_on_from_the_saved_position_even_across_a_rotation(tmp_path):
    log, positions = tmp_path / "access.log", tmp_path / "positions.json"
    append(log, line(0))
    first = LogFollower([log], load_positions(positions))
    append(log, line(1))
    assert lines_of(first.poll()) == [line(1)]
    save_positions(positions, first.positions())
    first.close()
    append(log, line(2))  # written while follow was down ...
    log.rename(tmp_path / "access.log.1")  # ... then rotated
    append(log, line(3))
    second = LogFollower([log], load_positions(positions))
    assert lines_of(second.poll()) == [line(2), line(3)]


@pytest.mark.integration
@pytest.mark.slow
def test_follow_publishes_each_line_within_a_second_and_stops_on_sigterm(stack_options, tmp_path):
    """On a stack of its own: the lines it publishes must not reach other tests' readers of the topic."""
    from secmon import stack
    from secmon.engine.ingest import Ingester, ensure_landing_table

    log = tmp_path / "access.log"
    append(log, line(0, "/before-"))
    with stack.temporary(stack_options()) as (state_dir, endpoints):
        own = {
            name: value
            for name, value in os.environ.items()
            if name not in (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL)
        }  # this stack, not one in the env
        proc = subprocess.Popen(
            [SECMON, "follow", "--state-dir", str(state_dir), str(log)],
            env=own,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not (state_dir / "follow.json").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            ensure_landing_table(endpoints)
            ingester = Ingester(endpoints, schema=settings.pg_schema())
            ingester.drain()
            written = time.monotonic()
            append(log, *(line(number, "/followed-") for number in range(1, 6)))
            landed = []
            while time.monotonic() - written < 10 and len(landed) < 5:
                ingester.poll_batch()
                with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
                    cur.execute(
                        f"select url from {settings.pg_schema()}.website_logs_source where url like '/followed-%'"
                    )
                    landed = [row[0] for row in cur.fetchall()]
                conn.close()
            seconds = time.monotonic() - written
            ingester.close()
            assert sorted(landed) == [f"/followed-{number}" for number in range(1, 6)]
            assert seconds < 2.0  # written, published, consumed and committed within a second or so
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0, proc.stderr.read()
            assert "stopped after 5 lines: 5 published, 0 rejected" in proc.stdout.read()
            shown = json.loads(
                subprocess.run(
                    [SECMON, "status", "--state-dir", str(state_dir), "--json"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )["follow"]
            assert (shown["lines"], shown["published"], shown["rejected"], shown["files"]) == (5, 5, 0, [str(log)])
        finally:
            if proc.poll() is None:
                proc.kill()


LINE = (
    '203.0.113.9 - - [12/Mar/2024:10:00:00 +0000] "GET /products/{n} HTTP/1.1" 200 5120 '
    '"https://www.example.com/" "Mozilla/5.0" 0.012\n'
)


def test_the_parser_takes_a_poll_while_it_returns_a_large_one():
    """Parsing runs one poll ahead: a second large poll submitted before the first one's result is
    read must not leave both processes blocked on a full pipe."""
    from secmon.follow import Parser

    parser = Parser("auto", ())
    try:
        polls = [[LINE.format(n=n) for n in range(start, start + 40_000)] for start in (0, 40_000)]
        for lines in polls:
            parser.submit([("access.log", lines)])
        first, second = parser.result(), parser.result()
        assert len(first.messages) == len(second.messages) == 40_000
        assert b"/products/39999" in first.messages[-1][1] and b"/products/40000" in second.messages[0][1]
    finally:
        parser.close()


def test_a_dead_parser_is_a_one_line_error():
    from secmon.errors import SecmonError
    from secmon.follow import Parser

    parser = Parser("auto", ())
    process = parser.children[0].process
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    parser.submit([("access.log", [LINE.format(n=1)])])
    with pytest.raises(SecmonError, match=r"^follow: a parser process exited with code -9$"):
        parser.result()
    parser.close()


def test_every_parser_process_knows_the_w3c_fields_of_the_polls_it_did_not_see():
    """Polls go to the parsers in turn, but a `#Fields:` line rules every line after it."""
    from secmon.follow import Parser

    lines = (Path(__file__).parent / "data/formats/w3c_iis.log").read_text().splitlines()
    requests = [line for line in lines if not line.startswith("#")][:3]  # the fourth is malformed on purpose
    parser = Parser("auto", ())
    try:
        assert len(parser.children) > 1 or os.cpu_count() == 1
        polls = [lines[: lines.index(requests[0]) + 1], *([request] for request in requests[1:])]
        for poll in polls:
            parser.submit([("u_ex240201.log", poll)])
        parsed = [parser.result() for _ in polls]
        assert [(len(result.messages), result.rejected) for result in parsed] == [(1, 0)] * len(polls)
    finally:
        parser.close()


def test_a_poll_over_its_time_budget_is_rejected_and_the_polls_after_it_go_on(monkeypatch):
    """No line may stop `follow`: a parser child stuck on a poll is killed and replaced, that poll's lines
    are rejected with the reason, and the polls submitted after it (to it, too) are parsed."""
    from secmon import follow as following

    parse_lines = following.parse_lines

    def stuck_on_slow(chunks, parser, encode):  # the children are forked: they run this one
        if any("/products/slow" in line for _, lines in chunks for line in lines):
            time.sleep(600)
        return parse_lines(chunks, parser, encode)

    monkeypatch.setattr(following, "parse_lines", stuck_on_slow)
    parser = following.Parser("auto", (), budget_seconds=0.5)
    try:
        for n in ("slow", 1, 2, 3):
            parser.submit([("access.log", [LINE.format(n=n)])])
        started = time.monotonic()
        stuck = parser.result()
        assert time.monotonic() - started < 5
        assert (stuck.messages, stuck.rejected) == ([], 1)
        assert stuck.last_reject.startswith("parsing took over 0.5 s: 1 lines rejected from 203.0.113.9")
        assert [len(parser.result().messages) for _ in range(3)] == [1, 1, 1]
        assert parser.replaced == 1
    finally:
        parser.close()
