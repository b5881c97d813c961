"""`secmon explain ALERT_ID` against the session stack's PostgreSQL: alerts and requests written into a
schema of the test's own (with and without the `tags` column), read as the read-only role, a crawler
claim checked against a local DNS server (tests/local_dns.py)."""

from __future__ import annotations

import itertools
import json
import os
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from click.testing import CliRunner
from dnslib import PTR, A
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from local_dns import resolver_at, serving
from psycopg2 import sql

from secmon import settings
from secmon.cli import cli
from secmon.console import console
from secmon.decisions.crawlers import CrawlerVerifier, crawler_gate
from secmon.decisions.policy import Allowlist, BanPolicy
from secmon.errors import SecmonError
from secmon.explain import (
    ALERT_COLUMNS,
    REQUEST_LIMIT,
    ExplainedRequest,
    Explanation,
    explain_alert,
    print_explanation,
    request_matches,
)

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
POLICY = BanPolicy(
    frozenset({"high", "critical"}),
    {severity: timedelta(hours=4) for severity in ("low", "medium", "high", "critical")},
    frozenset(),
)
END = datetime.now(UTC).replace(microsecond=0)
START = END - timedelta(minutes=1)
counter = itertools.count()


class Site:
    """A schema with a security_alerts table and a website_requests table, written as the owner."""

    def __init__(self, owner_url: str, tags: bool) -> None:
        self.owner_url, self.schema = owner_url, f"explain_{os.getpid()}_{next(counter)}"
        tags_column = ", tags varchar[]" if tags else ""
        self.execute(sql.SQL("create schema {}").format(sql.Identifier(self.schema)))
        self.execute(
            sql.SQL(
                "create table {}.security_alerts (alert_id varchar primary key, detection varchar, severity varchar,"
                " entity_type varchar, entity varchar, target_username varchar, event_count bigint,"
                " distinct_count bigint, example varchar, window_start timestamptz, window_end timestamptz)"
            ).format(sql.Identifier(self.schema))
        )
        self.execute(
            sql.SQL(
                "create table {}.website_requests (request_timestamp timestamptz, ip_address varchar,"
                " user_agent text, url text, http_method varchar, status_code integer, username varchar{})"
            ).format(sql.Identifier(self.schema), sql.SQL(tags_column))
        )

    def execute(self, statement, parameters: tuple = ()) -> None:
        with psycopg2.connect(self.owner_url) as conn, conn.cursor() as cur:
            cur.execute(statement, parameters)
        conn.close()

    def alert(self, alert_id, detection, severity, entity, example, entity_type="ip", start=START, end=END):
        self.execute(
            sql.SQL("insert into {}.security_alerts values (%s, %s, %s, %s, %s, null, 2, 2, %s, %s, %s)").format(
                sql.Identifier(self.schema)
            ),
            (alert_id, detection, severity, entity_type, entity, example, start, end),
        )

    def request(self, at, ip, url, agent="Mozilla/5.0", status=200, username=None, tags=None):
        columns = "request_timestamp, ip_address, user_agent, url, http_method, status_code, username"
        values = [at, ip, agent, url, "GET", status, username]
        if tags is not None:
            columns, values = columns + ", tags", [*values, tags]
        self.execute(
            sql.SQL("insert into {}.website_requests ({}) values ({})").format(
                sql.Identifier(self.schema), sql.SQL(columns), sql.SQL(", ").join(sql.Placeholder() * len(values))
            ),
            tuple(values),
        )

    def drop(self) -> None:
        self.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(self.schema)))


@pytest.fixture
def site(endpoints):
    made = Site(endpoints.pg_url, tags=True)
    yield made
    made.drop()


@pytest.fixture(scope="module")
def google_dns():
    records = {
        ("1.66.249.66.in-addr.arpa.", "PTR"): [PTR("crawl-66-249-66-1.googlebot.com.")],
        ("crawl-66-249-66-1.googlebot.com.", "A"): [A("66.249.66.1")],
    }
    with serving(records) as (_, port):
        yield CrawlerVerifier(resolver_at(port))


def explained(endpoints, site, alert_id, verifier=None, allowlist=None, lifts=None, now=None):
    with psycopg2.connect(endpoints.reader_url) as conn:
        gate = crawler_gate(conn, site.schema, POLICY.crawler_only, verifier or CrawlerVerifier(resolver_at(1)))
        explanation = explain_alert(
            conn,
            site.schema,
            alert_id,
            policy=POLICY,
            allowlist=allowlist or Allowlist(),
            lifts=lifts or {},
            crawlers=gate,
            now=now or END,
        )
    conn.close()
    return explanation


def test_the_requests_behind_an_alert_what_each_matched_and_the_ban(endpoints, site):
    site.alert("a1", "sensitive_files", "high", "203.0.113.50", "/.env")
    site.request(START + timedelta(seconds=1), "203.0.113.50", "/.env", status=404, tags=["list:sensitive_files"])
    site.request(START + timedelta(seconds=2), "203.0.113.50", "/x?a=[/x]", agent="WordPress/6.8", tags=[])
    site.request(START - timedelta(seconds=1), "203.0.113.50", "/before-the-window", tags=[])
    site.request(START + timedelta(seconds=3), "203.0.113.51", "/another-client", tags=[])
    explanation = explained(endpoints, site, "a1")
    assert [(request.url, request.status) for request in explanation.requests] == [("/.env", 404), ("/x?a=[/x]", 200)]
    assert explanation.requests_in_window == 2
    assert explanation.requests[0].matched == ["list:sensitive_files", "the alert's example"]
    assert explanation.requests[1].matched == ["agent claims a self-request (not evidence: any client can send it)"]
    assert explanation.bans and explanation.until == END + timedelta(hours=4)
    assert explanation.reasons[0] == "policy: severity high is one of var ban_severities (critical, high)"
    assert explanation.reasons[-1] == "banned"
    document = explanation.to_json()
    assert json.loads(json.dumps(document))["requests"][0]["tags"] == ["list:sensitive_files"]


def test_why_an_alert_does_not_ban(endpoints, site, google_dns):
    site.alert("low", "bad_user_agent", "low", "203.0.113.60", "masscan")
    site.alert("own", "web_attack", "high", "198.51.100.20", "/wp-admin/admin-ajax.php")
    site.alert("lifted", "web_attack", "high", "203.0.113.61", "/x")
    site.alert("account", "credential_stuffing", "high", "alice", "/login", entity_type="username")
    site.alert(
        "old",
        "web_attack",
        "high",
        "203.0.113.62",
        "/x",
        start=START - timedelta(hours=5),
        end=END - timedelta(hours=5),
    )
    site.alert("google", "web_attack", "high", "66.249.66.1", "/misc/sample.log")
    site.request(START + timedelta(seconds=1), "66.249.66.1", "/misc/sample.log", agent=GOOGLEBOT, tags=[])
    site.request(START + timedelta(seconds=1), "203.0.113.9", "/login", username="alice", tags=[])
    own = Allowlist(own=["198.51.100.20"])
    last = {
        alert_id: explained(endpoints, site, alert_id, google_dns, own, {"203.0.113.61": END}).reasons[-1]
        for alert_id in ("low", "own", "lifted", "account", "old", "google")
    }
    assert last["low"].startswith("policy: severity low is not one of var ban_severities")
    assert last["own"] == "not banned: the site's own address (198.51.100.20/32)"
    assert last["lifted"].startswith("not banned: lifted at ")
    assert last["account"] == "its entity is a username, not an address: it bans nothing"
    assert last["old"] == "the ban is over"
    assert last["google"] == "not banned: verified crawler (Google)"
    google = explained(endpoints, site, "google", google_dns)
    assert google.crawler_claims == [{"agent": GOOGLEBOT, "verdict": "verified crawler Google"}]
    assert "agent claims a crawler: verified crawler Google" in google.requests[0].matched
    assert [request.url for request in explained(endpoints, site, "account").requests] == ["/login"]


def test_without_a_tags_column_the_requests_are_shown_untagged(endpoints):
    site = Site(endpoints.pg_url, tags=False)
    try:
        site.alert("a1", "web_attack", "high", "203.0.113.50", "/etc/passwd")
        for second in range(REQUEST_LIMIT + 5):
            site.request(START + timedelta(milliseconds=100 * second), "203.0.113.50", f"/p{second}")
        explanation = explained(endpoints, site, "a1")
    finally:
        site.drop()
    assert len(explanation.requests) == REQUEST_LIMIT and explanation.requests_in_window == REQUEST_LIMIT + 5
    assert all(request.tags is None and request.matched == [] for request in explanation.requests)


def test_an_unknown_alert_id_is_an_error(endpoints, site):
    with pytest.raises(SecmonError, match="no alert 'nope'"):
        explained(endpoints, site, "nope")


def test_the_command_prints_hostile_urls_as_written(stack_env, site, monkeypatch):
    monkeypatch.setenv(settings.ENV_PG_SCHEMA, site.schema)
    site.alert("a1", "web_attack", "high", "203.0.113.50", "/x?a=[/x]")
    site.request(START + timedelta(seconds=1), "203.0.113.50", "/x?a=[/x]", agent="[bold]sqlmap[/bold]", tags=[])
    runner = CliRunner()
    with console.capture() as captured:  # the console, markup off, writes to the process's stdout
        shown = runner.invoke(cli, ["explain", "a1"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    printed = captured.get()
    assert "/x?a=[/x]" in printed and "[bold]sqlmap" in printed  # as written, not read as markup
    assert "why it bans:" in printed and "  - banned" in printed
    document = json.loads(runner.invoke(cli, ["explain", "a1", "--json"], catch_exceptions=False).output)
    assert document["bans"] is True and document["requests"][0]["url"] == "/x?a=[/x]"
    missing = runner.invoke(cli, ["explain", "nope"])
    assert missing.exit_code == 1 and "no alert 'nope'" in missing.output


@hypothesis_settings(max_examples=100, deadline=None)
@given(url=st.text(max_size=300), agent=st.text(max_size=300), example=st.text(max_size=100))
def test_any_url_or_agent_is_explained_and_printed_without_error(url, agent, example):
    alert = dict(zip(ALERT_COLUMNS, ("a", "web_attack", "high", "ip", "203.0.113.5", None, 1, 1, example, START, END)))
    row = (START, "GET", url, 200, agent, None)
    request = ExplainedRequest(*row, matched=request_matches(row, alert, {}))
    explanation = Explanation(alert, [request], 1, False, None, ["policy: x"])
    with console.capture() as captured:
        print_explanation(explanation)
    assert "why it does not ban" in captured.get()
    assert json.dumps(explanation.to_json())


def test_a_10kb_url_and_agent_are_explained_in_milliseconds():
    alert = dict(zip(ALERT_COLUMNS, ("a", "web_attack", "high", "ip", "203.0.113.5", None, 1, 1, "/", START, END)))
    row = (START, "GET", "/" + "%2e" * 3400, 200, "WordPress/6.8 " + "Googlebo" * 1250, None)
    started = time.perf_counter()
    for _ in range(100):
        request_matches(row, alert, {})
    assert (time.perf_counter() - started) / 100 < 0.005
