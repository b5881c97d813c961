"""The site's own addresses: the host's interfaces and the self-requests `secmon follow` learns, never
banned and reported as such by the decisions; a self-request agent from anywhere else is not learned."""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from secmon.core import kafka_clients
from secmon.core.own_addresses import (
    OwnAddresses,
    host_addresses,
    is_self_request_agent,
    own_addresses_path,
    read_learned,
)
from secmon.decisions.policy import Allowlist

HOST = {"127.0.0.1": "lo", "::1": "lo", "198.51.100.20": "eth0"}
PROXIES = (ipaddress.ip_network("192.0.2.0/28"),)
DAY = 86_400.0


def own_addresses(state_dir, now, retention=DAY) -> OwnAddresses:
    return OwnAddresses(state_dir, PROXIES, retention, clock=lambda: now[0], interfaces=lambda: dict(HOST))


def test_the_hosts_own_interfaces_loopback_included():
    found = host_addresses()
    assert found["127.0.0.1"] and all(ipaddress.ip_address(address) for address in found)


def test_the_host_and_its_proxies_are_learned_and_an_agent_from_elsewhere_is_not(tmp_path):
    now = [datetime(2026, 12, 7, 6, 0, tzinfo=UTC).timestamp()]
    own = own_addresses(tmp_path, now)
    # the server's wp-cron from its own address, a balancer's health check, and a forger's WordPress agent
    own.observe([b"198.51.100.20", b"192.0.2.5", b"203.0.113.66", b"crawler.example.net"])
    allowlist = Allowlist.from_settings(own_addresses_file=own_addresses_path(tmp_path))
    assert allowlist.reason("198.51.100.20") == "the site's own address (198.51.100.20/32)"
    assert allowlist.reason("192.0.2.5") == "the site's own address (192.0.2.5/32)"
    assert allowlist.reason("::1") == "the site's own address (::1/128)"
    assert allowlist.reason("203.0.113.66") is None
    assert allowlist.reason("192.0.2.6") is None  # learned one by one, not the proxies' whole network
    assert set(read_learned(own_addresses_path(tmp_path))) == {"192.0.2.5"}  # the host's are listed as such
    assert "198.51.100.20  # host interface eth0" in own_addresses_path(tmp_path).read_text()


def test_a_learned_address_survives_a_restart_and_is_forgotten_after_the_retention_unseen(tmp_path):
    now = [1_800_000_000.0]
    own_addresses(tmp_path, now).observe([b"192.0.2.5"])
    now[0] += DAY / 2
    restarted = own_addresses(tmp_path, now)
    assert set(restarted.learned) == {"192.0.2.5"}
    restarted.observe([b"192.0.2.9"])
    now[0] += DAY / 2 + 1
    restarted.observe([])
    assert set(read_learned(own_addresses_path(tmp_path))) == {"192.0.2.9"}


def test_the_file_is_written_when_an_address_comes_not_on_every_poll(tmp_path):
    now = [1_800_000_000.0]
    own = own_addresses(tmp_path, now)
    own.observe([b"192.0.2.5"])
    path = own_addresses_path(tmp_path)
    written = path.stat().st_mtime_ns
    now[0] += 1
    own.observe([b"192.0.2.5", b"203.0.113.1"])
    assert path.stat().st_mtime_ns == written
    own.observe([b"192.0.2.7"])
    assert "192.0.2.7" in path.read_text()


def test_self_request_agents_are_recognised_as_claims():
    assert is_self_request_agent("WordPress/6.8; https://gallery.example")
    assert is_self_request_agent("kube-probe/1.29") and is_self_request_agent("ELB-HealthChecker/2.0")
    assert not is_self_request_agent("Mozilla/5.0 (WordPress/6.8)") and not is_self_request_agent(None)


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=60) | st.ip_addresses().map(lambda ip: str(ip).encode()), max_size=20))
def test_no_client_key_makes_learning_raise_or_learn_a_stranger(tmp_path_factory, keys):
    state_dir = tmp_path_factory.mktemp("own")
    own_addresses(state_dir, [1_800_000_000.0]).observe(keys)
    for address in read_learned(own_addresses_path(state_dir)):
        assert any(ipaddress.ip_address(address) in network for network in PROXIES)


def test_follow_learns_the_servers_self_requests_from_the_log(endpoints, tmp_path):
    from secmon.follow import Follow

    topic = f"own_addresses_{os.getpid()}"
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, topic, 1)
    log = tmp_path / "access.log"
    stamp = "[07/Dec/2026:06:00:00 +0000]"
    log.write_text(
        f'127.0.0.1 - - {stamp} "POST /wp-admin/admin-ajax.php?action=wordfence_testAjax HTTP/1.1" 200 2 "-" '
        '"WordPress/6.8; https://gallery.example"\n'
        f'192.0.2.5 - - {stamp} "GET /health HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0"\n'
        f'203.0.113.66 - - {stamp} "POST /wp-admin/admin-ajax.php?action=x HTTP/1.1" 200 2 "-" "WordPress/6.8"\n'
    )
    state_dir = tmp_path / "state"
    status = Follow([log], endpoints.bootstrap_servers, topic, state_dir, True, PROXIES).run(stop_after_idle=0.5)
    assert status.published == 3
    assert set(read_learned(own_addresses_path(state_dir))) == {"192.0.2.5"}  # 127.0.0.1 is listed as the host's
    allowlist = Allowlist.from_settings(own_addresses_file=own_addresses_path(state_dir))
    assert allowlist.reason("127.0.0.1").startswith("the site's own address")
    assert allowlist.reason("192.0.2.5").startswith("the site's own address")
    assert allowlist.reason("203.0.113.66") is None
