"""No log line can pick the client, stall the parser, or make a log change its format.

- Every pattern applied to log text is linear: each format's parser, and recognition, is timed on
  fixture lines with a 10 kB run of one character class (plus one character the field refuses)
  inserted at each field boundary. A backtracking pattern takes seconds there (the old trailing
  X-Forwarded-For group took 1 s at 24 digits, and 4x more every 2 more).
- Hypothesis mutates real lines of every format the way a client can (its user name, URL, Referer,
  User-Agent, X-Forwarded-For): the result is the real peer's event, or a reject with its reason,
  within the time bound, and never another format's reading of the line.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secmon.core.logs.formats import LineParser, MalformedLine, trusted_networks

FORMATS = Path(__file__).parent / "data" / "formats"
FIXTURES = sorted(path.name for path in FORMATS.glob("*.log"))
# A line costs its length: well under a millisecond for 10 kB here. The bound leaves room for a slow
# machine and nothing for a pattern that backtracks.
SECONDS_PER_LINE = 0.025
RUN = 10_000
# Long runs of what each kind of field accepts, each ended by a character that it refuses.
RUNS = ["1", "1,", "1.", "a", " ", "\\", '\\"', "[", "]", '"', "%", ":", "-", "x y", "\t", "{", "é", "\udc80", "0:"]
SEPARATORS = ' "[]:,\t/'
PROXY = trusted_networks(["127.0.0.0/8", "10.0.0.0/8"])  # as the fixtures' proxies (Envoy's logs name no peer)


def first_event_line(fixture: str) -> tuple[LineParser, str, str]:
    """A parser locked to the fixture's format (its header lines seen), and its first request line."""
    parser = LineParser("nginx-main" if fixture == "nginx_main.log" else "auto", PROXY)
    for line in (FORMATS / fixture).read_text().splitlines():
        try:
            event = parser.parse(line, fixture)
        except MalformedLine:
            continue
        if event is not None:
            return parser, line, event.ip_address
    raise AssertionError(f"{fixture}: no line parses")


def boundaries(line: str, most: int = 12) -> list[int]:
    places = [index for index, char in enumerate(line) if char in SEPARATORS]
    step = max(1, len(places) // most)
    return [0, *places[::step], len(line)]


def timed(parser: LineParser, line: str, source: str):
    """The CPU time of parsing `line` (the suite shares its cores: wall time would measure the others too)."""
    gc.disable()  # a collection that falls due mid-parse is not the parser's cost
    started = time.process_time()
    try:
        result = parser.parse(line, source)
    except MalformedLine as exc:
        result = exc
    finally:
        gc.enable()
    return time.process_time() - started, result


@pytest.mark.parametrize("fixture", FIXTURES)
def test_no_field_of_10_kb_costs_more_than_its_length(fixture):
    locked, line, _ = first_event_line(fixture)
    slowest = (0.0, "")
    for place in boundaries(line):
        for run in RUNS:
            hostile = line[:place] + run * (RUN // len(run)) + "g\x00" + line[place:]
            for parser in (locked, LineParser()):  # the log's own format, and recognition from scratch
                seconds, _ = timed(parser, hostile, fixture)
                slowest = max(slowest, (seconds, f"{run!r} at column {place}"))
    assert slowest[0] < SECONDS_PER_LINE, f"{fixture}: {slowest[0] * 1000:.1f} ms with {slowest[1]}"


# The attacks of issue 36 as nginx's main format logs them, from a client at 127.0.0.1.
ATTACKS = {
    "40-digit X-Forwarded-For": ("curl/7.88.1", "-", "1" * 40 + "g"),
    "a Basic-auth user with a space": ("curl/7.88.1", "x y", "8.8.8.8"),
    "a user that forges the rest of a line": ("curl", "8.8.8.8 - z [07/Dec/2026:04:00:00 +0000] \\x22GET /", "-"),
    "a HAProxy line in the User-Agent": (
        "8.8.8.8:1234 [07/Dec/2026:04:00:00.000] fe be/s 0/0/0/1/1 200 1 - - ---- 1/1/1/1/0 0/0 \\x22GET / HTTP/1.1",
        "-",
        "-",
    ),
    "a zone id behind a trusted proxy": ("curl/7.88.1", "-", "1::1%x;}"),
}


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("trusted", ["none", "another proxy", "the peer"])
def test_an_attack_on_the_parser_never_names_the_client(attack, trusted):
    """The client is the peer unless the peer is a trusted proxy; then the proxy's right-most address,
    which must be one (a zone id is refused with the reason): never a word that the client placed."""
    agent, user, forwarded = ATTACKS[attack]
    line = f'127.0.0.1 - {user} [07/Dec/2026:04:00:00 +0000] "GET /.env HTTP/1.1" 404 153 "-" "{agent}" "{forwarded}"'
    proxies = {"none": (), "another proxy": trusted_networks(["10.0.0.0/8"]), "the peer": PROXY}[trusted]
    parser = LineParser("auto", proxies)
    parser.parse('127.0.0.1 - - [07/Dec/2026:03:59:59 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "-"', "log")
    seconds, result = timed(parser, line, "log")
    assert seconds < SECONDS_PER_LINE
    if trusted == "the peer" and forwarded != "-":
        if forwarded == "8.8.8.8":
            assert result.ip_address == "8.8.8.8"  # what the trusted proxy says the client was
        else:
            assert isinstance(result, MalformedLine) and str(result).startswith("X-Forwarded-For: "), result
        return
    assert result.ip_address == "127.0.0.1" and result.url == "/.env", result
    assert set(parser.chosen) == {"clf"}


# --- hypothesis: mutations of real lines, as a client can make them ----------------------------------

SHAPES = [  # other formats' shapes, as a client would put them in a field (without raw quotes: servers escape them)
    "8.8.8.8:1234 [07/Dec/2026:04:00:00.000] fe be/s 0/0/0/1/1 200 1 - - ---- 1/1/1/1/0 0/0 {x} ",
    "8.8.8.8 - - [07/Dec/2026:04:00:00 +0000] ",
    "1733544000.000      1 8.8.8.8 TCP_MISS/200 1 GET http://x/ - DIRECT/1.1.1.1 text/html",
    "[2026-12-07T04:00:00.000Z] ",
    "2026-12-07 04:00:00 10.0.0.1 GET / - 80 - 8.8.8.8 a - 200 0 0 1",
    "http 2026-12-07T04:00:00.000000Z app/lb 8.8.8.8:1 10.0.0.1:80 0 0 0 200 200 1 1 ",
]
payload = st.one_of(
    st.sampled_from(SHAPES),
    st.text(alphabet=st.characters(blacklist_characters='"\\\n\r', blacklist_categories=["Cs"]), max_size=60),
    st.sampled_from(["x y", " [", "] ", "8.8.8.8", ", 8.8.8.8", "1::1%x;}", "\udc90\udc02", " - - "]),
    st.integers(1, 10_000).map(lambda n: "1" * n),
)


def client_written(doc, written: set, path: tuple = ()):
    """The paths in a JSON log line of the values the client wrote (nested, as Caddy logs headers)."""
    for key, value in doc.items() if isinstance(doc, dict) else enumerate(doc):
        if isinstance(value, (dict, list)):
            yield from client_written(value, written, (*path, key))
        elif isinstance(value, str) and (value in written or key in ("request", "http_referer")):
            yield (*path, key)


def replaced(doc, path: tuple, value):
    copy = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def mutations(fixture: str):
    """Lines of `fixture` with a client-written field changed: a JSON log's value through JSON, a text log's
    value in place (a client's text, never a raw quote)."""
    _, line, client = first_event_line(fixture)
    event = LineParser("auto", PROXY).parse(line)
    written = {event.user_agent, event.referrer, event.username, event.url}  # by the client
    if line.startswith("{"):
        doc = json.loads(line)
        paths = list(client_written(doc, written | {event.url.split("?")[0]}))
        return st.tuples(st.sampled_from(paths), payload).map(
            lambda change: (json.dumps(replaced(doc, *change)), client)
        )
    values = [value for value in written if value and value in line]
    if " - - [" in line:
        values.append(" - - [")  # the user field of the common log format
    return st.tuples(st.sampled_from(values), payload).map(
        lambda change: (line.replace(change[0], change[1] if change[0] != " - - [" else f" - {change[1]} [", 1), client)
    )


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if f not in ("w3c_iis.log", "cloudfront.log")])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(data=st.data())
def test_a_mutated_line_is_its_peers_event_or_a_reject(fixture, data):
    line, client = data.draw(mutations(fixture))
    parser, _, _ = first_event_line(fixture)
    seconds, result = timed(parser, line, fixture)
    assert seconds < SECONDS_PER_LINE, line[:200]
    if isinstance(result, MalformedLine):
        assert str(result) and "\n" not in str(result)
    else:
        assert result.ip_address == client, line
        assert set(parser.chosen) == set(first_event_line(fixture)[0].chosen)  # the log kept its format


def test_raw_bytes_are_kept_as_evidence_percent_escaped():
    """A 2004 WebDAV overflow as Apache logged it: raw bytes in the request line (read with surrogateescape)."""
    raw = b'192.0.2.9 - - [07/Dec/2004:04:00:00 +0000] "SEARCH /\x90\x02\xb1\x02\xff HTTP/1.1" 414 0 "-" "-"'
    event = LineParser().parse(raw.decode("utf-8", errors="surrogateescape"))
    # The bytes that are not UTF-8 are percent-escaped; the control characters are text, JSON-escaped later.
    assert (event.ip_address, event.http_method, event.url) == ("192.0.2.9", "SEARCH", "/%90\x02%B1\x02%FF")


def test_a_dual_stack_proxy_and_a_host_name_client():
    """An IPv4-mapped peer is the IPv4 proxy it is; a client logged as a host name (HostnameLookups On) is kept as
    one; anything else in the client field is a reject with its reason."""
    line = '{} - - [07/Dec/2026:04:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "{}"'
    behind_proxy = LineParser("auto", trusted_networks(["10.0.0.0/8"]))
    assert behind_proxy.parse(line.format("::ffff:10.0.0.5", "203.0.113.9")).ip_address == "203.0.113.9"
    host = "pcp740115pcs.reston01.va.comcast.net"
    assert LineParser().parse(line.format(host.upper(), "-")).ip_address == host
    for client in ("1::1%eth0", "999.1.1.1", "-x"):
        with pytest.raises(MalformedLine, match="^client address: "):
            LineParser().parse(line.format(client, "-"))
