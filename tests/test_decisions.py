"""`secmon decisions`: bans from the alerts, in CrowdSec's own JSON, for CrowdSec's own bouncers.

The field list comes from CrowdSec's published API specification (tests/data/crowdsec/, from
pkg/models/localapi_swagger.yaml), and the end-to-end test runs Debian's real
crowdsec-firewall-bouncer against `secmon decisions serve`."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import decisions_tools as tools
import jsonschema
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from secmon import settings, stack
from secmon.core.events import Event, EventEncoder
from secmon.core.kafka_clients import Producer
from secmon.dbt_runner import run_dbt
from secmon.decisions.exports import nftables_sets, nginx_deny
from secmon.decisions.keys import add_bouncer, bouncer_named_by, bouncers_path
from secmon.decisions.policy import (
    DEFAULT_ALLOWLIST,
    Allowlist,
    BanPolicy,
    Decision,
    canonical_entity,
    decisions_from_alerts,
)
from secmon.decisions.server import make_server
from secmon.decisions.stream import Ledger
from secmon.engine.ingest import REQUESTS_VIEW, ensure_landing_table

SCHEMA = json.loads((Path(__file__).parent / "data" / "crowdsec" / "lapi_decisions.schema.json").read_text())
SECMON = str(Path(sys.executable).with_name("secmon"))
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
POLICY = BanPolicy(
    frozenset({"high", "critical"}),
    {
        severity: timedelta(hours=hours)
        for severity, hours in (("low", 1), ("medium", 1), ("high", 4), ("critical", 24))
    },
    frozenset({"flagged_detection"}),
)


def validator(definition: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({"$ref": f"#/definitions/{definition}", "definitions": SCHEMA["definitions"]})


def test_the_stream_is_crowdsecs_json_field_for_field(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.sync({"203.0.113.5": Decision("203.0.113.5", "sqli_probing", NOW + timedelta(hours=4))}, NOW)
    new, deleted = ledger.startup(NOW)
    answer = {"new": [sent.to_json(NOW) for sent in new], "deleted": [sent.to_json(NOW) for sent in deleted]}
    assert list(validator("DecisionsStreamResponse").iter_errors(answer)) == []
    (decision,) = answer["new"]
    assert set(decision) == set(SCHEMA["definitions"]["Decision"]["properties"])
    assert (decision["type"], decision["scope"], decision["value"], decision["duration"]) == (
        "ban",
        "Ip",
        "203.0.113.5",
        "4h0m0s",
    )
    assert decision["until"] == "2026-12-02T16:00:00Z" and decision["simulated"] is False
    assert validator("GetDecisionsResponse").is_valid([decision])


def test_severity_and_the_yml_flag_decide_a_ban_and_a_repeat_extends_it():
    alerts = [
        ("203.0.113.1", "sqli_probing", "high", NOW - timedelta(minutes=5)),
        ("203.0.113.1", "account_takeover", "critical", NOW - timedelta(hours=1)),
        ("203.0.113.2", "bad_user_agent", "low", NOW),
        ("203.0.113.3", "flagged_detection", "medium", NOW),
        ("203.0.113.4", "request_flood", "high", NOW - timedelta(hours=5)),  # its ban is over
    ]
    bans = decisions_from_alerts([(*alert, alert[3]) for alert in alerts], POLICY, Allowlist(), NOW)
    assert {ip: ban.until - NOW for ip, ban in bans.items()} == {
        "203.0.113.1": timedelta(hours=23),
        "203.0.113.3": timedelta(hours=1),
    }


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "172.20.0.1", "192.168.1.1", "100.64.0.9", "127.0.0.1", "169.254.1.1", "::1", "fd00::5",
                "fe80::1", "::ffff:10.1.2.3", "198.51.100.7", "2001:db8:1::9", "not-an-ip"],
)  # fmt: skip
def test_the_allowlist_holds_private_ranges_trusted_proxies_and_its_var(address):
    allowlist = Allowlist(["198.51.100.0/24", "2001:db8:1::/48"])
    assert allowlist.reason(address) is not None


def test_public_and_documentation_addresses_may_be_banned():
    assert all(Allowlist().reason(address) is None for address in ("203.0.113.50", "8.8.8.8", "2001:db8::1"))


allowlisted = st.sampled_from(DEFAULT_ALLOWLIST + ("198.51.100.0/24",)).flatmap(
    lambda network: st.integers(0, ipaddress.ip_network(network).num_addresses - 1).map(
        lambda offset, network=network: str(ipaddress.ip_network(network)[offset])
    )
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(allowlisted | st.ip_addresses().map(str), st.sampled_from(["high", "critical"])), max_size=20)
)
def test_no_alert_bans_an_allowlisted_address_whatever_it_sent(alerts):
    allowlist = Allowlist(["198.51.100.0/24"])
    bans = decisions_from_alerts(
        [(ip, "web_attack", severity, NOW, NOW) for ip, severity in alerts], POLICY, allowlist, NOW
    )
    assert all(allowlist.reason(ip) is None for ip in bans)
    assert set(bans) == {canonical_entity(ip) for ip, _ in alerts if allowlist.reason(ip) is None}


def test_a_bouncer_key_is_shown_once_and_kept_as_a_digest(tmp_path):
    key = add_bouncer(tmp_path, "firewall")
    stored = bouncers_path(tmp_path).read_text()
    assert key not in stored and oct(bouncers_path(tmp_path).stat().st_mode & 0o777) == "0o600"
    assert bouncer_named_by(key, json.loads(stored)) == "firewall"
    assert bouncer_named_by(key[:-1] + "x", json.loads(stored)) is None
    with pytest.raises(Exception, match="exists already"):
        add_bouncer(tmp_path, "firewall")


# End to end: an attack replayed through the broker and the local engine, the decision served, and
# Debian's real crowdsec-firewall-bouncer enforcing it.
ATTACKER, PRIVATE_SENDER, PROXY = "203.0.113.50", "10.20.30.40", "198.51.100.7"
TABLE = f"secmon_test_{os.getpid()}"


def failed_logins(ip: str, now_ms: int) -> list[bytes]:
    encode = EventEncoder().encode
    agent, url = "python-requests/2.31", "/login?n={}"
    return [
        encode(Event(now_ms + n, ip, agent, url.format(n), "POST", 401, None, None, None, "admin", "login", "high"))
        for n in range(12)
    ]


def stream_engine(state_dir: Path) -> subprocess.Popen:
    """`secmon stream` on the stack of `state_dir` (not the environment's), crowdsec_burst alone."""
    passed = (settings.ENV_BOOTSTRAP, settings.ENV_PG_URL)
    own = {name: value for name, value in os.environ.items() if name not in passed}
    return subprocess.Popen(
        [SECMON, "stream", "--state-dir", str(state_dir), "--quiet", "--select", "crowdsec_burst"],
        env=own,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.tools
@pytest.mark.slow
@tools.needs_bouncer
def test_debians_firewall_bouncer_enforces_the_ban_of_a_replayed_attack_and_no_allowlisted_one(stack_options, tmp_path):
    window_s = settings.interval_ms(settings.dbt_vars()["crowdsec_burst_window"]) / 1000
    bound = window_s + settings.WATERMARK_DELAY_MS / 1000 + 5
    with stack.temporary(stack_options()) as (state_dir, endpoints):
        ensure_landing_table(endpoints)
        assert (
            run_dbt(
                ["run", "-t", "local", "--quiet", "-s", REQUESTS_VIEW, settings.ALERTS_TABLE, "crowdsec_burst"],
                endpoints,
            )
            == 0
        )
        engine = stream_engine(state_dir)
        server = make_server(
            f"127.0.0.1:{tools.free_port()}", endpoints.reader_url, state_dir, trusted_proxies=[f"{PROXY}/32"]
        ).start()
        port, key = server.server_address[1], add_bouncer(state_dir, "firewall")
        try:
            tools.wait_for(lambda: (state_dir / "stream.json").exists() or engine.poll() is not None, 60, "the engine")
            assert engine.poll() is None, engine.stderr.read()  # compiled and consuming
            producer, now_ms = Producer(endpoints.bootstrap_servers, "secmon-test"), int(time.time() * 1000)
            for ip in (ATTACKER, PRIVATE_SENDER, PROXY):
                for value in failed_logins(ip, now_ms):
                    producer.send(settings.EVENTS_TOPIC, value, ip.encode())
            assert producer.flush() == 0
            last_request = now_ms / 1000 + 0.011

            banned: list[str] = []
            while ATTACKER not in banned and time.time() - last_request < bound + 10:
                answer = tools.request(f"http://127.0.0.1:{port}/v1/decisions/stream?startup=true", key)
                banned = [decision["value"] for decision in answer["new"]]
                time.sleep(0.25)
            elapsed = time.time() - last_request
            assert banned == [ATTACKER], banned  # the private sender and the trusted proxy alerted too
            assert elapsed <= bound, f"the ban came {elapsed:.1f} s after the last request, over {bound:.0f} s"
            print(f"ban in the stream {elapsed:.1f} s after the attack's last request (bound {bound:.0f} s)")

            folder = tmp_path / "bouncer"
            with tools.running_bouncer(folder, f"http://127.0.0.1:{port}/", add_bouncer(state_dir, "nftables"), TABLE):
                fetched = tools.wait_for(
                    lambda: {ip for name, _, _, new, _ in list(server.pulls) if name == "nftables" for ip in new},
                    30,
                    f"the bouncer's pull: {tools.bouncer_log(folder)}",
                )
                assert fetched == {ATTACKER}, fetched
                if tools.nftables_usable():  # the sandbox lets the bouncer make its nftables set: read it back
                    tools.wait_for(lambda: ATTACKER in tools.kernel_set(TABLE), 30, "the ban in the kernel")
                    assert set(tools.kernel_set(TABLE)) == {ATTACKER}  # the private sender and the proxy are not
        finally:
            server.shutdown()
            engine.terminate()
            engine.wait(20)


BANS = [
    Decision("203.0.113.50", "sqli_probing", NOW + timedelta(hours=4)),
    Decision("2001:db8::50", "web_attack", NOW + timedelta(hours=24)),
]


@pytest.mark.tools
@tools.needs_nginx
def test_the_nginx_export_is_an_include_that_nginx_accepts(tmp_path):
    deny = tmp_path / "secmon-deny.conf"
    deny.write_text(nginx_deny(BANS))
    (tmp_path / "logs").mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:1; include {deny}; }} }}\n"
    )
    checked = subprocess.run(
        [tools.NGINX, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert [line.split()[1] for line in deny.read_text().splitlines() if line.startswith("deny")] == [
        "203.0.113.50;",
        "2001:db8::50;",
    ]


@pytest.mark.skipif(not shutil.which("nft"), reason="nft (nftables) is not installed")
def test_the_nftables_export_is_a_script_nft_accepts():
    script = nftables_sets(BANS)
    checked = subprocess.run(["nft", "-c", "-f", "-"], input=script, capture_output=True, text=True)
    if "Operation not permitted" in checked.stderr:
        pytest.skip("this sandbox may not use netlink: nft cannot check the script")
    assert checked.returncode == 0, checked.stderr
    assert "add element ip secmon blacklist { 203.0.113.50 }" in script
    assert "add element ip6 secmon blacklist { 2001:db8::50 }" in script
