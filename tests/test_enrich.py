"""Country and network of alerting addresses from the offline data geoip2fast ships: known public
addresses are found, private and documentation ones stay unknown, and the table the dashboards join
is filled once per address."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
from conftest import DASHBOARD_SCHEMA

from secmon.decisions import DEFAULT_ALLOWLIST
from secmon.enrich import ENRICHMENT_TABLE, UNKNOWN, default_lookup

PUBLIC = [
    line.strip()
    for line in (Path(__file__).parent / "data" / "enrich" / "public_addresses.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.mark.parametrize("address", PUBLIC)
def test_every_public_fixture_address_gets_a_country_and_a_network(address):
    info = default_lookup()(address)
    assert len(info.country_code) == 2 and info.country_name and info.as_name and "/" in info.as_network, info


@pytest.mark.parametrize(
    "address",
    [*(network.split("/")[0] for network in DEFAULT_ALLOWLIST), "203.0.113.50", "198.51.100.7", "2001:db8::1", "x"],
)
def test_private_documentation_and_broken_addresses_stay_unknown(address):
    assert default_lookup()(address) == UNKNOWN


def test_every_alerting_address_is_looked_up_once_into_the_table_the_dashboards_join(dashboard_data):
    pg_url, _, _ = dashboard_data
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(
            f"select count(distinct entity), count(distinct origin.ip_address), count(origin.country_code) "
            f"filter (where origin.as_name is not null) from {DASHBOARD_SCHEMA}.security_alerts as alerts "
            f"left join {DASHBOARD_SCHEMA}.{ENRICHMENT_TABLE} as origin on origin.ip_address = alerts.entity "
            "where alerts.entity_type = 'ip'"
        )
        alerting, looked_up, rows_known = cur.fetchone()
        cur.execute(f"select ip_address, country_code, as_name from {DASHBOARD_SCHEMA}.{ENRICHMENT_TABLE}")
        rows = cur.fetchall()
    conn.close()
    assert alerting == looked_up > 0
    assert rows_known > 0  # the generator's attackers come from public ranges
    for address, country, network in rows:  # what the table says is what the data says
        info = default_lookup()(address)
        assert (country, network) == (info.country_code, info.as_name), address
