"""Formats declared in the server's own syntax (nginx `log_format`, Apache `LogFormat`) compiled into
parsers: the stock and custom formats users paste from their configs, each server's escaping, the
field and column of a line that fails, and a fuzzed compiler that never crashes."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import event_fields

from secmon.core.logs.declared import NGINX_ROLES, compile_apache, compile_declared, compile_nginx
from secmon.core.logs.fields import MalformedLine, trusted_networks
from secmon.core.logs.formats import LineParser, declared_format

PROXIES = trusted_networks(["10.0.0.0/8"])
NGINX_MAIN = """log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" '
                  '"$http_user_agent" "$http_x_forwarded_for"';"""
# One WAF's default: the host first, a request id, the request time last.
WAF = (
    """log_format waf '$host $remote_addr - $request_id $remote_user [$time_local] "$request" $status """
    """$body_bytes_sent "$http_referer" "$http_user_agent" $request_time';"""
)
APACHE = (
    r"""LogFormat "%v %h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D %{X-Forwarded-For}i" secmon"""
)


def fields(event):
    return (*event_fields(event), event.referrer)


def test_the_stock_nginx_main_format():
    parser = compile_nginx(NGINX_MAIN)
    assert parser.name == "main"
    line = '172.17.0.1 - - [01/Dec/2026:05:00:00 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-"'
    assert fields(parser.parse(line)) == ("172.17.0.1", "GET", "/", 200, None, None, "curl/8.5.0", None)
    behind = '10.0.0.5 - - [01/Dec/2026:05:00:01 +0000] "GET /a HTTP/1.1" 200 1 "-" "x" "198.51.100.7, 10.0.0.4"'
    assert parser.parse(behind, PROXIES).ip_address == "198.51.100.7"
    assert parser.parse(behind).ip_address == "10.0.0.5"  # no trusted proxy named: the peer


def test_a_waf_format_with_a_request_id_and_any_method():
    parser = compile_nginx(WAF)
    line = (
        'shop.example 203.0.113.9 - 5f2c9a1b7e0d - [01/Dec/2026:05:00:00 +0000] "PROPFIND /dav/ HTTP/1.1" 207 615 '
        '"https://shop.example/" "Mozilla/5.0 \\x22quoted\\x22 \\xC3\\xA9" 0.012'
    )
    assert fields(parser.parse(line)) == (
        "203.0.113.9",
        "PROPFIND",
        "/dav/",
        207,
        12,
        None,
        'Mozilla/5.0 "quoted" é',
        "https://shop.example/",
    )


def test_nginx_escape_json_and_none():
    json_format = compile_nginx(
        """log_format j escape=json '$remote_addr [$time_local] "$request" $status "$http_user_agent"';"""
    )
    line = '192.0.2.1 [01/Dec/2026:05:00:00 +0000] "GET /x HTTP/1.1" 200 "a \\"b\\" \\u00e9"'
    assert json_format.parse(line).user_agent == 'a "b" é'
    raw = compile_nginx(
        """log_format r escape=none '$remote_addr [$time_local] "$request" $status $http_user_agent';"""
    )
    assert raw.parse('192.0.2.1 [01/Dec/2026:05:00:00 +0000] "GET /x HTTP/1.1" 200 curl\\x41').user_agent == "curl\\x41"
    with pytest.raises(ValueError, match="escape=yaml is not default, json or none"):
        compile_nginx("log_format y escape=yaml '$remote_addr $request $status';")


def test_nginx_uri_and_args_make_the_url_and_msec_the_time():
    parser = compile_nginx("$msec $remote_addr $request_method $uri $args $status")
    event = parser.parse("1706778000.250 192.0.2.3 GET /search q=1 404")
    assert (event.request_timestamp, event.url, event.http_method) == (1_706_778_000_250, "/search?q=1", "GET")
    assert parser.parse("1706778000.250 192.0.2.3 GET /search - 404").url == "/search"


def test_an_apache_logformat_with_vhost_microseconds_and_forwarded_for():
    parser = compile_apache(APACHE)
    assert parser.name == "secmon"
    line = (
        'www.example.com 127.0.0.1 - alice [01/Dec/2026:05:00:00 +0100] "POST /login HTTP/1.1" 302 0 "-" '
        '"Mo \\"q\\" \\xc3\\xa9" 2345 198.51.100.7'
    )
    event = parser.parse(line, trusted_networks(["127.0.0.0/8"]))
    assert fields(event) == ("198.51.100.7", "POST", "/login", 302, 2, "alice", 'Mo "q" é', None)
    assert event.request_timestamp == 1_796_097_600_000  # +0100 honoured


def test_apache_modifiers_and_time_units():
    conditional = compile_apache("%a %{sec}t %400,501{User-Agent}i %m %U%q %<s")
    assert conditional.parse("192.0.2.5 1706778000 curl/8 GET /p 404").user_agent == "curl/8"
    with_time = compile_apache('%h %{sec}t %{ms}T "%{User-Agent}i" %m %U%q %>s')
    event = with_time.parse('192.0.2.5 1706778000 15 "curl/8" GET /p?x=1 500')
    assert (event.request_timestamp, event.response_time, event.url, event.status_code) == (
        1_706_778_000_000,
        15,
        "/p?x=1",
        500,
    )


def test_a_line_that_does_not_match_names_the_field_and_column():
    parser = compile_nginx(WAF)
    line = 'shop.example 203.0.113.9 - id - [01/Dec/2026:05:00:00 +0000] "GET / HTTP/1.1" 2x0 615 "-" "curl" 0.1'
    with pytest.raises(MalformedLine, match=r"^\$status at column 79: found '2x0"):
        parser.parse(line)
    with pytest.raises(MalformedLine, match=r"^\$time_local|^text ' \['"):
        parser.parse('shop.example 203.0.113.9 - id - 01/Dec/2026 "GET / HTTP/1.1" 200 1 "-" "c" 0.1')
    with pytest.raises(MalformedLine, match="status: 999 out of range"):
        compile_nginx(NGINX_MAIN).parse('1.2.3.4 - - [01/Dec/2026:05:00:00 +0000] "GET / HTTP/1.1" 999 1 "-" "c" "-"')


def test_a_format_without_request_or_status_is_refused():
    with pytest.raises(ValueError, match="records no request"):
        compile_nginx("$remote_addr $status")
    with pytest.raises(ValueError, match="records no status"):
        compile_apache('%h "%r"')


def test_the_syntax_is_told_from_the_text_and_a_declared_format_wins(tmp_path):
    assert compile_declared(NGINX_MAIN).name == "main"
    assert compile_declared(APACHE).name == "secmon"
    assert compile_declared('%h %l %u %t "%r" %>s %b').name == "apache"
    # A line that auto-recognition reads as combined is parsed by the declared format instead.
    parser = LineParser(compile_declared(NGINX_MAIN), PROXIES)
    event = parser.parse('10.0.0.5 - - [01/Dec/2026:05:00:01 +0000] "GET /a HTTP/1.1" 200 1 "-" "x" "203.0.113.1"')
    assert event.ip_address == "203.0.113.1" and parser.summary() == "main (1 lines)"


def test_named_formats_come_from_the_project_file(tmp_path):
    (tmp_path / "log_formats.yml").write_text(f"waf: |\n  {WAF}\n")
    assert declared_format("waf", tmp_path).name == "waf"
    with pytest.raises(ValueError, match="no such name"):
        declared_format("nope", tmp_path)


# --- fuzzing: any format, any line: a parser or a ValueError; an Event or a MalformedLine -------------

nginx_variable = st.sampled_from(sorted(NGINX_ROLES) + ["host", "request_id", "upstream_addr", "ssl_protocol"])
apache_directive = st.sampled_from(
    [
        "%h",
        "%a",
        "%l",
        "%u",
        "%t",
        "%r",
        "%m",
        "%U",
        "%q",
        "%>s",
        "%s",
        "%b",
        "%D",
        "%T",
        "%v",
        "%{Referer}i",
        "%{User-Agent}i",
        "%{X-Forwarded-For}i",
        "%{ms}T",
        "%{sec}t",
        "%p",
        "%%",
    ]
)
separator = st.sampled_from([" ", " - ", ' "', '" ', " [", "] ", "|", "\t", ""])
line_text = st.text(alphabet=string.printable + 'é\x00\\"', max_size=200)


# A format is pieces of text and variables: `$name` in nginx's syntax, Apache's directives as they are.
SYNTAXES = {
    "nginx": (compile_nginx, nginx_variable.map(lambda name: f"${name}")),
    "apache": (compile_apache, apache_directive),
}


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
@settings(max_examples=300, deadline=None)
@given(data=st.data(), line=line_text)
def test_fuzzed_formats_never_crash(syntax, data, line):
    compile_format, variable = SYNTAXES[syntax]
    pieces = data.draw(st.lists(st.tuples(separator, variable), min_size=1, max_size=12))
    try:
        parser = compile_format("".join(sep + var for sep, var in pieces))
    except ValueError:
        return
    try:
        parser.parse(line)
    except MalformedLine as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["%h", "%t", "%r", "%>s", "%{User-Agent}i", "%D"]), min_size=0, max_size=3))
def test_a_generated_line_of_a_declared_format_parses(extra):
    """Lines written the way Apache writes them parse back to their fields."""
    parser = compile_apache(
        " ".join(["%h", "%t", '"%r"', "%>s", *[e for e in extra if e not in ("%h", "%t", "%r", "%>s")]])
    )
    values = {
        "%h": "192.0.2.1",
        "%t": "[01/Dec/2026:05:00:00 +0000]",
        "%>s": "404",
        "%{User-Agent}i": "ua",
        "%D": "1500",
    }
    line = " ".join(
        [
            values["%h"],
            values["%t"],
            '"GET /x HTTP/1.1"',
            values["%>s"],
            *[values[e] for e in extra if e not in ("%h", "%t", "%r", "%>s")],
        ]
    )
    event = parser.parse(line)
    assert (event.ip_address, event.url, event.status_code) == ("192.0.2.1", "/x", 404)
