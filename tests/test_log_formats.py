"""Every access-log format `secmon replay` reads, on real-shaped fixture lines of each
(tests/data/formats/): IPv6 clients, missing fields, escaped quotes, malformed lines, request
times in each format's unit, and client IPs behind trusted proxies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from support import event_fields

from secmon.cli import cli
from secmon.core.logs.fields import MalformedLine, client_ip, trusted_networks
from secmon.core.logs.formats import LineParser, parse_line

FORMATS = Path(__file__).parent / "data" / "formats"
PROXIES = trusted_networks(["10.0.0.0/8"])

# Per fixture line: (client IP, method, URL, status, response ms, user name, user agent), or the
# start of the MalformedLine reason.
EXPECTED = {
    "vhost_combined.log": [
        (
            "203.0.113.5",
            "GET",
            "/",
            200,
            None,
            None,
            "Mozilla/5.0 (X11; Linux x86_64; rv:92.0) Gecko/20100101 Firefox/92.0",
        ),
        ("2001:db8::7", "POST", "/login", 302, None, "alice", 'Mozilla/5.0 (Macintosh) "quoted" agent'),
        ("198.51.100.23", "GET", "/search?q=%22shoes%22", 200, 2, None, None),  # %D: 2,345 µs
        "not common/combined",  # the log keeps its format: a line that does not fit it is not recognised again
    ],
    "apache_combined_microseconds.log": [
        ("198.51.100.8", "GET", "/index.html", 200, 2, None, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X)"),
        ("2001:db8:85a3::8a2e:370:7334", "GET", "/private/", 401, None, "eve", "Wget/1.21"),
        ("198.51.100.9", "GET", "/", 200, None, None, None),  # common format: no agent
        "status: 999 out of range",
    ],
    "nginx_json.log": [
        ("203.0.113.44", "GET", "/products?id=3", 200, 12, None, "Mozilla/5.0 (Linux; Android 14)"),  # behind 10.0.0.1
        ("2001:db8::1", "POST", "/admin/login", 401, 250, "dave", 'Mozilla/5.0 "quoted"'),
        ("10.0.0.1", "GET", "/", 200, None, None, None),  # a trusted peer without X-Forwarded-For
        "request: missing",
    ],
    "caddy.log": [
        ("127.0.0.1", "GET", "/docs/", 200, 1, None, "curl/7.82.0"),
        ("2001:db8::9", "POST", "/login?next=%2Faccount", 401, 250, "bob", 'Mozilla/5.0 "x"'),  # behind 10.0.0.2
        ("::1", "GET", "/health", 204, None, None, None),
        "missing key 'remote_addr'",
    ],
    "nginx_main.log": [
        ("172.17.0.1", "GET", "/", 200, None, None, "curl/8.5.0"),
        (
            "203.0.113.50",
            "POST",
            "/wp-login.php",
            200,
            None,
            "bob",
            "Mozilla/5.0 (X11; Linux x86_64)",
        ),  # behind 10.0.0.5
        ("198.51.100.3", "PROPFIND", "/webdav/", 405, None, None, "Mozilla/5.0 zgrab/0.x"),  # any method
        ("2001:db8::9", "GET", "/search?q=%27", 200, None, None, "Mozilla/5.0"),
        "status: 999 out of range",
    ],
    "clf_extra_fields.log": [
        ("192.0.2.7", "GET", "/api/v1/items", 200, 23, None, "Go-http-client/1.1"),  # Traefik CLF: 23ms last
        ("203.0.113.8", "GET", "/checkout", 502, 512, None, "Mozilla/5.0 (Windows NT 10.0)"),  # $request_time, upstream
        ("198.51.100.66", "GET", "/?author=1", 301, None, None, "WPScan v3.8.25"),  # "$http_x_forwarded_for", an id
    ],
    "common.log": [
        ("127.0.0.1", "GET", "/apache_pb.gif", 200, None, "frank", None),
        ("192.0.2.44", "OPTIONS", "*", 200, None, None, None),
        "request: bad request line",  # a TLS handshake on a plain port, as nginx logs it
    ],
    "w3c_iis.log": [
        None,
        None,
        None,
        None,  # #Software, #Version, #Date, #Fields: the log describing itself
        ("203.0.113.20", "GET", "/default.aspx", 200, 15, None, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
        ("2001:db8::20", "POST", "/login.aspx?ReturnUrl=%2Fadmin", 302, 120, "CORP\\alice", "Mozilla/5.0 (Macintosh)"),
        ("198.51.100.99", "GET", "/_vti_bin/shtml.dll", 404, 1, None, None),
        "5 fields where #Fields names 15",
    ],
    "cloudfront.log": [
        None,
        None,
        ("203.0.113.30", "GET", "/index.html", 200, 1, None, "Mozilla/5.0 (Windows NT 10.0)"),
        (
            "198.51.100.31",
            "GET",
            "/search?q=1%27%20OR%20%271%27=%271",
            403,
            2,
            None,
            "sqlmap/1.7.2#stable (https://sqlmap.org)",
        ),
    ],
    "alb.log": [
        ("192.168.131.39", "GET", "/", 200, 1, None, "curl/7.46.0"),
        ("203.0.113.60", "POST", "/xmlrpc.php", 460, None, None, "Mozilla/5.0 (compatible)"),
    ],
    "elb.log": [
        ("192.168.131.39", "GET", "/", 200, 1, None, "curl/7.38.0"),
        ("203.0.113.70", "GET", "/.env", 404, 40, None, "python-requests/2.31.0"),
    ],
    "s3.log": [
        ("192.0.2.3", "GET", "/awsexamplebucket1?versioning", 200, 7, None, "S3Console/0.4"),
        ("198.51.100.80", "GET", "/awsexamplebucket1/backup.sql", 403, 18, None, "curl/8.0"),
    ],
    "squid.log": [
        ("192.168.0.224", "GET", "/index.html", 200, 180, None, None),
        ("192.168.0.225", "CONNECT", "www.example.com:443", 403, 0, "alice", None),
    ],
    "haproxy.log": [
        ("10.0.1.2", "GET", "/index.html", 200, 109, None, None),
        ("203.0.113.90", "GET", "/wp-admin/", 404, 3, None, None),
    ],
    "envoy.log": [
        ("10.0.35.28", "POST", "/api/v1/locations", 204, 226, None, "nsq2http"),  # no peer: its X-Forwarded-For
        ("203.0.113.95", "GET", "/admin/config.php", 404, 0, None, "Mozilla/5.0 zgrab/0.x"),
    ],
    "envoy_json.log": [
        ("203.0.113.100", "GET", "/productpage", 200, 35, None, "curl/8.5.0"),
        ("198.51.100.101", "POST", "/login", 401, 3, None, None),  # behind 10.0.0.7
    ],
    "traefik.log": [
        ("192.0.2.10", "GET", "/index.html", 200, 12, None, "Mozilla/5.0 (Windows NT 10.0)"),  # 12,345,678 ns
        ("198.51.100.77", "DELETE", "/api/items/7", 403, 0, "carol", "curl/8.5.0"),  # behind 10.1.2.3
        ("2001:db8::5", "GET", "/", 200, None, None, None),
        "status: 'abc' is not a number",
    ],
}


def parsed(line: str, parser: LineParser):
    try:
        event = parser.parse(line)
    except MalformedLine as exc:
        return str(exc)
    return None if event is None else event_fields(event)


def test_every_format_has_a_fixture():
    assert {path.name for path in FORMATS.glob("*.log")} == set(EXPECTED)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_each_line_of_the_fixture_parses_as_expected(fixture):
    lines = (FORMATS / fixture).read_text().splitlines()
    assert len(lines) == len(EXPECTED[fixture])
    parser = LineParser("auto", PROXIES)
    for line, expected in zip(lines, EXPECTED[fixture]):
        result = parsed(line, parser)
        if isinstance(expected, str):
            assert isinstance(result, str) and result.startswith(expected), (line, result)
        else:
            assert result == expected, line


def test_timestamps_come_from_each_formats_own_field():
    first = {
        name: LineParser("auto", PROXIES).parse((FORMATS / name).read_text().splitlines()[0]).request_timestamp
        for name in ("vhost_combined.log", "caddy.log", "traefik.log")
    }
    assert first == {
        "vhost_combined.log": 1_632_917_494_000,
        "caddy.log": 1_646_861_401_524,
        "traefik.log": 1_706_778_000_123,
    }


def test_forwarded_for_counts_only_behind_a_trusted_proxy():
    assert client_ip("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"  # no trusted proxies named
    assert client_ip("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"  # peer not trusted: XFF forgeable
    # the right-most untrusted address: what the client wrote left of it could be forged
    assert client_ip("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", PROXIES) == "198.51.100.1"
    assert client_ip("10.0.0.2", "10.0.0.5, 10.0.0.3", PROXIES) == "10.0.0.5"  # all trusted: the first


def test_replay_takes_trusted_proxies_and_refuses_a_bad_one(tmp_path):
    output = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        cli, ["replay", "--trusted-proxy", "10.0.0.0/8", "--output", str(output), str(FORMATS / "nginx_json.log")]
    )
    assert result.exit_code == 0, result.output
    assert '"ip_address":"203.0.113.44"' in output.read_text().replace(" ", "")
    result = CliRunner().invoke(
        cli, ["replay", "--trusted-proxy", "10.0.0.0/33", "--output", str(output), str(FORMATS / "nginx_json.log")]
    )
    assert result.exit_code == 2 and "'10.0.0.0/33' is not an IP address or CIDR range" in result.output


JSON_KEYS = (
    "request",
    "remote_ip",
    "remote_addr",
    "uri",
    "method",
    "headers",
    "ts",
    "status",
    "duration",
    "user_id",
    "ClientHost",
    "RequestMethod",
    "RequestPath",
    "DownstreamStatus",
    "Duration",
    "StartUTC",
    "request_X-Forwarded-For",
    "time_iso8601",
    "time_local",
    "http_x_forwarded_for",
    "request_time",
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(JSON_KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.sampled_from(JSON_KEYS), json_values, max_size=10))
def test_any_json_log_line_is_an_event_or_a_malformed_line(doc):
    line = json.dumps(doc)
    try:
        parse_line(line, PROXIES)
    except MalformedLine:
        pass


def test_a_format_given_with_format_is_the_only_one_tried():
    caddy_line = (FORMATS / "caddy.log").read_text().splitlines()[0]
    assert parse_line(caddy_line, log_format="caddy").url == "/docs/"
    with pytest.raises(MalformedLine, match="missing key 'ClientHost'"):
        parse_line(caddy_line, log_format="traefik")
    combined_line = (FORMATS / "vhost_combined.log").read_text().splitlines()[0]
    with pytest.raises(MalformedLine, match="bad JSON"):
        parse_line(combined_line, log_format="nginx-json")
    with pytest.raises(MalformedLine, match="not common/combined"):
        parse_line(caddy_line, log_format="clf")
